"""The composition root: which adapter serves which port, for HTTP, CLI and worker.

Everything constructs synchronously (no I/O until first use); resources are
closed by the app's lifespan or the CLI/worker on exit (`close_resources`).
Tests override providers (`container.clock.override(...)`) instead of patching.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from adapters.actor_context import ACTORS
from adapters.bcrypt_hasher import BcryptHasher
from adapters.common_passwords import CommonPasswordSet
from adapters.html_sanitizer import Nh3Sanitizer
from adapters.jwt_tokens import JwtTokenService
from adapters.mail.composer import MailComposer
from adapters.memory.rate_limiter import MemoryRateLimiter
from adapters.memory.read_cache import MemoryReadCache
from adapters.redis_client import redis_client
from adapters.redis_rate_limiter import RedisRateLimiter
from adapters.redis_read_cache import RedisReadCache
from adapters.sql.audit import SqlAuditQueries
from adapters.sql.caller_queries import SqlCallerQueries
from adapters.sql.engine import create_database_engine
from adapters.sql.event_locations import SqlEventLocations
from adapters.sql.event_queries import SqlEventQueries
from adapters.sql.health import DatabaseProbe
from adapters.sql.housekeeping import SqlExpiredRecords
from adapters.sql.idempotency import SqlIdempotencyStore
from adapters.sql.outbox_queue import SqlOutboxQueue
from adapters.sql.personal_data import SqlPersonalData
from adapters.sql.registration_queries import SqlRegistrationQueries
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from adapters.sql.user_queries import SqlUserQueries
from adapters.system_clock import SystemClock
from adapters.uuid7 import Uuid7Generator
from adapters.webhooks.http_sender import HttpWebhookSender
from application.delivery_policy import DeliveryPolicy
from application.password_checks import PasswordChecks
from application.read_cache import InvalidatingUnitOfWorkFactory
from application.reminders import ReminderSchedule
from application.use_cases.calendar_feed import (
    IssueCalendarFeed,
    ReadCalendarFeed,
    RevokeCalendarFeed,
)
from application.use_cases.cancel_event import CancelEvent
from application.use_cases.check_in import CheckInAttendee
from application.use_cases.check_readiness import CheckReadiness
from application.use_cases.close_own_account import CloseOwnAccount
from application.use_cases.create_event import CreateEvent
from application.use_cases.create_user import CreateUser
from application.use_cases.delete_event import DeleteEvent
from application.use_cases.delete_user import DeleteUser
from application.use_cases.deliver_notifications import DeliverNotifications
from application.use_cases.deliver_webhooks import WebhookDelivery
from application.use_cases.export_my_data import ExportMyData
from application.use_cases.get_event import GetEvent
from application.use_cases.get_user import GetUser
from application.use_cases.identify_caller import IdentifyCaller
from application.use_cases.leave_event import LeaveEvent
from application.use_cases.list_attendees import ListAttendees
from application.use_cases.list_audit_events import ListAuditEvents
from application.use_cases.list_failed_notifications import ListFailedNotifications
from application.use_cases.list_my_registrations import ListMyRegistrations
from application.use_cases.list_users import ListUsers
from application.use_cases.locate_events import LocateEvents
from application.use_cases.manage_co_organizers import (
    AddCoOrganizer,
    ListCoOrganizers,
    RemoveCoOrganizer,
)
from application.use_cases.manage_webhooks import (
    CreateWebhook,
    DeleteWebhook,
    GetWebhook,
    ListWebhookDeliveries,
    ListWebhooks,
    PingWebhook,
    RotateWebhookSecret,
    UpdateWebhook,
    UrlRules,
)
from application.use_cases.purge_expired_records import PurgeExpiredRecords
from application.use_cases.refresh_session import RefreshSession
from application.use_cases.register_for_event import RegisterForEvent
from application.use_cases.remove_attendee import RemoveAttendee
from application.use_cases.request_password_reset import RequestPasswordReset
from application.use_cases.resend_verification import ResendVerification
from application.use_cases.reset_password import ResetPassword
from application.use_cases.retry_failed_notifications import RetryFailedNotifications
from application.use_cases.revoke_token import RevokeToken
from application.use_cases.search_events import SearchEvents
from application.use_cases.sign_in import SignInWithPassword
from application.use_cases.sign_up import SignUp
from application.use_cases.update_event import UpdateEvent
from application.use_cases.update_own_profile import UpdateOwnProfile
from application.use_cases.update_user import UpdateUser
from application.use_cases.verify_email import VerifyEmail
from domain.values import PasswordPolicy
from entrypoints.http.cursors import CursorCodec
from entrypoints.integrations import geocoder_for, health_probes_for, notifier_for
from entrypoints.settings import Settings


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    # -- the outside world ------------------------------------------------------------
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(Uuid7Generator)
    #: Who acts in the work in progress, for the audit log: bound per request by the
    #: HTTP edge; nobody for the CLI and the worker.
    actors = providers.Object(ACTORS)
    #: Each process keeps up to `pool_size` connections (opened as needed) and opens
    #: no overflow: overflow connections are closed again when returned, so a load
    #: hovering around the pool's size paid a new PostgreSQL backend per request.
    engine = providers.Singleton(
        create_database_engine,
        settings.provided.database.url,
        pool_size=settings.provided.database.pool_size,
        max_overflow=0,
        pool_timeout=settings.provided.database.pool_timeout,
    )
    #: The one Redis client (and pool) of this process, when EVENTAPI_REDIS_URL is set.
    redis = providers.Singleton(
        redis_client,
        settings.provided.rate_limits.redis_url,
        timeout=settings.provided.rate_limits.redis_timeout,
    )
    #: Anonymous reads kept ready (docs/performance.md, "Read cache"): shared through
    #: Redis when it is configured, else in this process; off when the TTL is 0.
    read_cache = providers.Selector(
        settings.provided.read_cache_backend,
        off=providers.Singleton(MemoryReadCache, 0),
        memory=providers.Singleton(MemoryReadCache, settings.provided.read_cache.ttl_seconds),
        redis=providers.Singleton(
            RedisReadCache,
            redis,
            settings.provided.read_cache.ttl_seconds,
            prefix=providers.Callable(
                "{}:rc".format, settings.provided.rate_limits.redis_key_prefix
            ),
            timeout=settings.provided.rate_limits.redis_timeout,
        ),
    )
    #: Every committed unit of work tells the read cache what it changed
    #: (application/read_cache.py).
    uow = providers.Singleton(
        InvalidatingUnitOfWorkFactory,
        providers.Singleton(
            SqlUnitOfWorkFactory,
            engine,
            ids,
            actors,
            reminders=providers.Singleton(
                ReminderSchedule, settings.provided.worker.reminder_before
            ),
        ),
        read_cache,
    )
    event_queries = providers.Singleton(SqlEventQueries, engine)
    #: Requests sent with an Idempotency-Key (entrypoints/http/idempotency.py).
    idempotency_store = providers.Singleton(SqlIdempotencyStore, engine)
    registration_queries = providers.Singleton(SqlRegistrationQueries, engine)
    user_queries = providers.Singleton(SqlUserQueries, engine)
    caller_queries = providers.Singleton(SqlCallerQueries, engine)
    #: One person's data, section by section, for their export.
    personal_data = providers.Singleton(SqlPersonalData, engine)
    audit_queries = providers.Singleton(SqlAuditQueries, engine)
    hasher = providers.Singleton(
        BcryptHasher,
        pepper=settings.provided.security.password_pepper,
        previous_peppers=settings.provided.security.previous_password_peppers,
        rounds=settings.provided.security.bcrypt_rounds,
    )
    tokens = providers.Singleton(
        JwtTokenService,
        keys=settings.provided.security.token_keys,
        signing_kid=settings.provided.security.token_kid,
        issuer=settings.provided.http.public_url,
        audience="eventapi",
        access_ttl=settings.provided.security.access_token_ttl,
    )
    cursors = providers.Singleton(
        CursorCodec, settings.provided.security.derived_key.call("cursors")
    )
    # Rate limits are shared by every process through Redis when it is configured; the
    # per-process memory limiter is the embedded default and Redis's fallback when down.
    memory_limiter = providers.Singleton(MemoryRateLimiter)
    limiter = providers.Selector(
        settings.provided.rate_limits.backend,
        memory=memory_limiter,
        redis=providers.Singleton(
            RedisRateLimiter,
            redis,
            memory_limiter,
            prefix=settings.provided.rate_limits.key_prefix,
            timeout=settings.provided.rate_limits.redis_timeout,
        ),
    )
    #: What /health/ready asks: the database; Redis and SMTP when configured.
    health_probes = providers.Singleton(
        health_probes_for, settings, providers.Singleton(DatabaseProbe, engine), limiter
    )
    sanitizer = providers.Singleton(Nh3Sanitizer)
    common_passwords = providers.Singleton(CommonPasswordSet.shipped)
    password_policy = providers.Singleton(
        PasswordPolicy,
        min_length=settings.provided.security.password_min_length,
        max_length=settings.provided.security.password_max_length,
    )
    #: Every password check of an account, from any route, spends its budget.
    password_checks = providers.Singleton(
        PasswordChecks, hasher, limiter, settings.provided.rate_limits.password_check_rate
    )

    # -- use cases (Factory: one per call, all state lives in the adapters) ------------
    check_readiness = providers.Factory(CheckReadiness, health_probes)
    sign_up = providers.Factory(
        SignUp, uow, hasher, common_passwords, password_policy, clock, ids, tokens
    )
    sign_in = providers.Factory(
        SignInWithPassword, uow, hasher, tokens, password_checks, clock, ids
    )
    refresh_session = providers.Factory(RefreshSession, uow, tokens, clock)
    revoke_token = providers.Factory(RevokeToken, uow, tokens, clock)
    identify_caller = providers.Factory(IdentifyCaller, caller_queries, tokens, clock)
    get_user = providers.Factory(GetUser, user_queries)
    update_own_profile = providers.Factory(
        UpdateOwnProfile, uow, hasher, common_passwords, password_policy, clock, password_checks
    )
    close_own_account = providers.Factory(CloseOwnAccount, uow, clock, idempotency_store)
    request_password_reset = providers.Factory(
        RequestPasswordReset,
        uow,
        tokens,
        limiter,
        clock,
        rate=settings.provided.rate_limits.password_reset_account_rate,
    )
    reset_password = providers.Factory(
        ResetPassword, uow, hasher, common_passwords, password_policy, tokens, clock
    )
    verify_email = providers.Factory(VerifyEmail, uow, tokens, clock)
    resend_verification = providers.Factory(ResendVerification, uow, tokens, clock)
    list_users = providers.Factory(ListUsers, user_queries)
    create_user = providers.Factory(CreateUser, sign_up)
    update_user = providers.Factory(UpdateUser, uow, clock)
    delete_user = providers.Factory(DeleteUser, uow, clock, idempotency_store)
    create_event = providers.Factory(
        CreateEvent,
        uow,
        event_queries,
        sanitizer,
        clock,
        ids,
        require_verified_email=settings.provided.security.require_verified_email,
    )
    update_event = providers.Factory(UpdateEvent, uow, event_queries, sanitizer, clock)
    cancel_event = providers.Factory(CancelEvent, uow, event_queries, clock)
    delete_event = providers.Factory(DeleteEvent, uow, clock)
    get_event = providers.Factory(GetEvent, event_queries)
    search_events = providers.Factory(SearchEvents, event_queries)
    register_for_event = providers.Factory(
        RegisterForEvent,
        uow,
        clock,
        ids,
        require_verified_email=settings.provided.security.require_verified_email,
    )
    leave_event = providers.Factory(LeaveEvent, uow, clock)
    remove_attendee = providers.Factory(RemoveAttendee, uow, clock)
    check_in_attendee = providers.Factory(CheckInAttendee, uow, clock)
    list_attendees = providers.Factory(ListAttendees, event_queries, registration_queries)
    add_co_organizer = providers.Factory(AddCoOrganizer, uow, clock)
    remove_co_organizer = providers.Factory(RemoveCoOrganizer, uow, clock)
    list_co_organizers = providers.Factory(ListCoOrganizers, event_queries)
    list_my_registrations = providers.Factory(ListMyRegistrations, registration_queries, clock)
    issue_calendar_feed = providers.Factory(IssueCalendarFeed, uow, tokens, clock)
    revoke_calendar_feed = providers.Factory(RevokeCalendarFeed, uow)
    read_calendar_feed = providers.Factory(
        ReadCalendarFeed, uow, registration_queries, tokens, clock
    )
    webhook_url_rules = providers.Singleton(
        UrlRules,
        allow_http=settings.provided.webhooks.allow_http,
        allow_private=settings.provided.webhooks.allow_private,
    )
    create_webhook = providers.Factory(CreateWebhook, uow, clock, ids, webhook_url_rules)
    list_webhooks = providers.Factory(ListWebhooks, uow)
    get_webhook = providers.Factory(GetWebhook, uow)
    update_webhook = providers.Factory(UpdateWebhook, uow, clock, webhook_url_rules)
    delete_webhook = providers.Factory(DeleteWebhook, uow, clock)
    rotate_webhook_secret = providers.Factory(RotateWebhookSecret, uow, clock)
    ping_webhook = providers.Factory(PingWebhook, uow, clock, ids)
    list_webhook_deliveries = providers.Factory(ListWebhookDeliveries, uow)
    export_my_data = providers.Factory(
        ExportMyData, user_queries, personal_data, audit_queries, clock, uow=uow
    )
    list_audit_events = providers.Factory(ListAuditEvents, audit_queries)

    # -- the worker: notifications from the outbox, coordinates for addresses ---------
    mail_composer = providers.Singleton(
        MailComposer,
        sender=settings.provided.mail.sender,
        public_url=settings.provided.http.public_url,
    )
    #: SMTP when EVENTAPI_SMTP_URL is set, else .eml files in data_dir/mail.
    notifier = providers.Singleton(notifier_for, settings, mail_composer)
    #: None when EVENTAPI_GEOCODER is off.
    geocoder = providers.Singleton(geocoder_for, settings)
    outbox_queue = providers.Singleton(SqlOutboxQueue, engine)
    event_locations = providers.Singleton(SqlEventLocations, engine)
    delivery_policy = providers.Singleton(
        DeliveryPolicy,
        require_verified_email=settings.provided.security.require_verified_email,
    )
    #: POSTs webhook deliveries (SSRF guard at send time, docs/notifications.md).
    webhook_sender = providers.Singleton(
        HttpWebhookSender,
        allow_http=settings.provided.webhooks.allow_http,
        allow_private=settings.provided.webhooks.allow_private,
    )
    webhook_delivery = providers.Factory(WebhookDelivery, uow, webhook_sender, clock, ids)
    deliver_notifications = providers.Factory(
        DeliverNotifications,
        outbox_queue,
        notifier,
        user_queries,
        event_queries,
        clock,
        delivery_policy,
        registrations=registration_queries,
        webhooks=webhook_delivery,
    )
    locate_events = providers.Factory(LocateEvents, event_locations, geocoder, uow, clock)
    expired_records = providers.Singleton(SqlExpiredRecords, engine)
    purge_expired_records = providers.Factory(
        PurgeExpiredRecords,
        expired_records,
        clock,
        retention=settings.provided.worker.outbox_retention,
    )
    list_failed_notifications = providers.Factory(ListFailedNotifications, outbox_queue)
    retry_failed_notifications = providers.Factory(RetryFailedNotifications, outbox_queue, clock)


def build_container(settings: Settings) -> Container:
    container = Container(settings=settings)
    return container


async def close_resources(container: Container) -> None:
    """Dispose of what holds connections (an engine that never connected costs nothing)."""
    await container.engine().dispose()
    container.engine.reset()
    try:
        limiter = container.limiter()
        read_cache = container.read_cache()
    except ValueError:  # a malformed EVENTAPI_REDIS_URL, in a command that uses no Redis
        return
    if isinstance(limiter, RedisRateLimiter):
        await limiter.aclose()
    if isinstance(limiter, RedisRateLimiter) or isinstance(read_cache, RedisReadCache):
        await container.redis().aclose()  # the client both share
