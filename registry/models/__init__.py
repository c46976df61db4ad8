"""Typed SQLAlchemy 2 models, one concern per module."""

from registry.models.accounts import (
    KEY_HOLDER_ROLES,
    Account,
    Invite,
    RecoveryCode,
    Role,
    StaffSession,
)
from registry.models.attachments import Attachment
from registry.models.audit import AuditEvent
from registry.models.base import Base
from registry.models.catalogue import ReformBlock, ReformProposal, ReformTheme, VocabularyTerm
from registry.models.evidence import CaseSummary, EvidenceSnapshot, SnapshotSummary
from registry.models.held import HeldAccess
from registry.models.links import LinkKind, ReportLink
from registry.models.mappings import CaseMapping, Strength
from registry.models.messages import Direction, Message
from registry.models.notes import Note
from registry.models.partners import Partner
from registry.models.reports import (
    KeyWrap,
    Report,
    ReportFlag,
    ReportViolation,
    SealedField,
    Status,
)
from registry.models.retention import Notice, RetentionHold
from registry.models.throttle import LoginThrottle

__all__ = [
    "KEY_HOLDER_ROLES",
    "Account",
    "Attachment",
    "AuditEvent",
    "Base",
    "CaseMapping",
    "CaseSummary",
    "Direction",
    "EvidenceSnapshot",
    "HeldAccess",
    "Invite",
    "KeyWrap",
    "LinkKind",
    "LoginThrottle",
    "Message",
    "Note",
    "Notice",
    "Partner",
    "RecoveryCode",
    "ReformBlock",
    "ReformProposal",
    "ReformTheme",
    "Report",
    "ReportFlag",
    "ReportLink",
    "ReportViolation",
    "RetentionHold",
    "Role",
    "SealedField",
    "SnapshotSummary",
    "StaffSession",
    "Status",
    "Strength",
    "VocabularyTerm",
]
