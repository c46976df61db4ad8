"""The public report form and the receipt."""
