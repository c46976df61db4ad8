"""Sviedka: a sealed police-misconduct incident registry."""

from __future__ import annotations

from flask import Flask

from config import ROOT, Config
from registry import db
from registry.attachments import upload
from registry.keyring import load_keyring
from registry.keyring.signing import publish_signing_key
from registry.retention.rules import check_config as check_retention
from registry.serving.heap import HeapSettler
from registry.serving.slots import KdfSlots
from registry.web import compiled, extensions, i18n, labels, routing, security, templating


def create_app(cfg: Config | None = None) -> Flask:
    """Application factory: build a configured app for ``cfg``.

    Without an argument the configuration comes from the environment
    (``Config.from_env``), which is what gunicorn and the CLI use.
    """
    cfg = cfg or Config.from_env()
    # An unknown disposition in the retention periods refuses to start.
    check_retention(cfg)
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "registry" / "static"),
    )
    # Before anything touches app.jinja_env, which Flask builds on first use.
    app.jinja_environment = templating.RegistryEnvironment
    # Owner-only: the database holds staff emails and the plain columns.
    cfg.instance_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    ring = load_keyring(cfg.keys_dir)
    publish_signing_key(cfg.keys_dir)
    app.extensions["registry.config"] = cfg
    app.extensions["registry.keyring"] = ring
    app.extensions["registry.kdf_slots"] = KdfSlots(
        cfg.receipt_kdf_slots, cfg.receipt_kdf_wait_seconds
    )
    app.config.update(
        SECRET_KEY=ring.flask_secret,
        TESTING=cfg.testing,
        # Flask's own cookie carries only the CSRF token and short-lived
        # enrolment state; staff sessions live server-side (auth.sessions).
        SESSION_COOKIE_NAME="sv",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=cfg.secure_cookies,
        MAX_CONTENT_LENGTH=1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
        RATELIMIT_ENABLED=cfg.ratelimit_enabled,
        RATELIMIT_STORAGE_URI=cfg.ratelimit_storage_uri,
        RATELIMIT_HEADERS_ENABLED=False,
    )
    # Templates compiled once per process, not once per app (registry.web.compiled).
    app.jinja_env.bytecode_cache = compiled.PROCESS_BYTECODE
    db.init_app(app, cfg.database_url)
    extensions.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    security.init_app(app)
    routing.init_app(app)
    upload.init_app(app)
    if not cfg.testing:
        # Short full passes of the cycle collector (registry.serving.heap).
        # Not in tests: a test process builds hundreds of apps, and what a
        # freeze keeps would pile up across them.
        app.teardown_request(HeapSettler().request_done)
    _register_blueprints(app)
    # Last: its hooks must come before (and its teardown after) all others.
    i18n.serve_request_language(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from registry.auditlog.views import bp as audit_bp
    from registry.auth import loader  # noqa: F401  (registers the Flask-Login loader)
    from registry.auth.account_views import bp as account_bp
    from registry.auth.views import bp as auth_bp
    from registry.errors import register_error_handlers
    from registry.evidence.views import bp as evidence_bp
    from registry.followup.views import bp as followup_bp
    from registry.intake.views import bp as intake_bp
    from registry.people.views import bp as people_bp
    from registry.referral.key_views import bp as keys_bp
    from registry.referral.views import bp as referral_bp
    from registry.referral.views import partners_bp
    from registry.reforms.views import bp as reforms_bp
    from registry.retention.views import bp as retention_bp
    from registry.review.casework import bp as casework_bp
    from registry.review.stats_views import bp as team_stats_bp
    from registry.review.summary_views import bp as summaries_bp
    from registry.review.views import bp as review_bp
    from registry.web.health import bp as health_bp

    for blueprint in (intake_bp, followup_bp, auth_bp, review_bp, casework_bp, reforms_bp, i18n.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(audit_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(summaries_bp)
    app.register_blueprint(team_stats_bp)
    app.register_blueprint(evidence_bp)
    app.register_blueprint(referral_bp)
    app.register_blueprint(partners_bp)
    app.register_blueprint(keys_bp)
    app.register_blueprint(retention_bp)
    app.register_blueprint(health_bp)
    register_error_handlers(app)
