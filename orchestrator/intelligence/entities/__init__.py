"""What a customer's message states: references, contact details, dates and times, amounts,
addresses and contact preferences, read from typed, texted or transcribed text.

Pure functions: nothing here touches the graph. `extract.extract_entities` reads a message;
`entity` holds what it returns. The entities agent proposes what to write from them.
"""
