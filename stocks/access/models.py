"""
Plans and API keys.

A member calls the API with a key; the key's plan says how much it may call. Keys are
``djangorestframework-api-key`` keys: only a hash is stored, the key is shown once, and
its first eight characters (the prefix) name it in logs, the admin and the commands.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey

from .origins import InvalidOrigin, parse_origins, valid_origins


class Plan(models.Model):
    """
    What a key may do. The free, basic, pro and enterprise plans are created by a data
    migration (``0004_default_plans``) and are edited in the admin; ``anonymous`` is what
    callers without a key get, per client subnet.
    """

    slug = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
    requests_per_minute = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    requests_per_day = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    realtime_per_second = models.PositiveIntegerField(
        validators=[MinValueValidator(1)],
        help_text="Burst limit of /api/realtime/ calls per second, on top of the windows.",
    )
    search_cost = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Units a simple search takes from the windows; longer, multi-word and "
        "fuzzy searches take more.",
    )
    max_page_size = models.PositiveIntegerField(
        validators=[MinValueValidator(1)], help_text="Largest page_size this plan may ask for."
    )
    max_page = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Deepest page number this plan may ask for; empty: any.",
    )
    cursor_paging = models.BooleanField(
        default=True, help_text="Whether this plan may page with cursors (mode=cursor)."
    )

    # The numbers a plan sets: the admin lists them, request time copies them (keys.Limits).
    LIMIT_FIELDS = (
        "requests_per_minute",
        "requests_per_day",
        "realtime_per_second",
        "search_cost",
        "max_page_size",
        "max_page",
        "cursor_paging",
    )

    class Meta:
        ordering = ["requests_per_minute", "slug"]

    def __str__(self) -> str:
        return self.name


class APIKey(AbstractAPIKey):
    """
    A member's key. ``allowed_origins`` (one per line) binds it to browser pages of those
    origins; a ``publishable`` key is the one a site's JavaScript carries: read-only by
    nature of this API, and required to name its origins.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="api_keys")
    external_id = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="The member's id on the calling site (the WordPress user id).",
    )
    allowed_origins = models.TextField(
        blank=True,
        help_text="Origins (https://example.com) allowed to use this key from a browser, "
        "one per line; empty: any.",
    )
    publishable = models.BooleanField(
        default=False,
        help_text="A browser key: shipped in a page's JavaScript, so it must name its origins.",
    )
    last_used = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Updated at most once a minute."
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    @property
    def origins(self) -> frozenset[str]:
        """The allowed origins; an entry that is not one (written around clean()) is skipped."""
        return frozenset(valid_origins(self.allowed_origins))

    def clean(self) -> None:
        super().clean()
        try:
            origins = parse_origins(self.allowed_origins)
        except InvalidOrigin as exc:
            raise ValidationError({"allowed_origins": str(exc)}) from exc
        self.allowed_origins = "\n".join(origins)
        if self.publishable and not origins:
            raise ValidationError(
                {"allowed_origins": "A publishable key must name the origins it serves."}
            )
