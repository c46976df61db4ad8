"""Administrators' pages for staff accounts: invite, remove, reset."""
