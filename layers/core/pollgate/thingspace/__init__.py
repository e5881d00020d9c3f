"""Face 3: Verizon ThingSpace device provisioning (OAuth token, M2M sessions, device actions, status, callbacks)."""
