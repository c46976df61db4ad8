"""Staff accounts: invites, passwords, TOTP, login and sessions."""
