"""Webhook views, one module per provider: parse, authenticate, call one service, answer."""
