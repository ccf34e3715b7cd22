"""Values a customer states, found in any wording and typed by what they are (a date, a time,
a place, where from and where to, a name, an amount, a count, a kind of thing), and the rule
that the newest value a customer gives for the same thing is the current one.
"""
