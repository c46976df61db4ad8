"""Controlled vocabularies: violation types, places, units, regions, …"""
