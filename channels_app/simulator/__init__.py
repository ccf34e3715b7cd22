"""A traffic simulator: journey files replayed as real, signed Twilio and SendGrid webhooks."""
