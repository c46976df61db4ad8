"""Typed SQLAlchemy 2 models, one concern per module."""

from registry.models.accounts import Account, Invite, Role, StaffSession
from registry.models.base import Base
from registry.models.catalogue import ReformBlock, ReformProposal, ReformTheme, VocabularyTerm
from registry.models.mappings import CaseMapping, Strength
from registry.models.reports import KeyWrap, Report, ReportViolation, SealedField, Status

__all__ = [
    "Account",
    "Base",
    "CaseMapping",
    "Invite",
    "KeyWrap",
    "ReformBlock",
    "ReformProposal",
    "ReformTheme",
    "Report",
    "ReportViolation",
    "Role",
    "SealedField",
    "StaffSession",
    "Status",
    "Strength",
    "VocabularyTerm",
]
