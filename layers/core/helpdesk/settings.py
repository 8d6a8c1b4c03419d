"""Configuration: the only module that reads the environment.

`get_settings()` reads once per process (cached); tests call `get_settings.cache_clear()`
after changing the environment. Secrets have no defaults: an unset secret makes the
webhook that needs it refuse everything (fail closed), never accept everything.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

Language = Literal["ru", "en"]


class DirectionTexts(BaseModel):
    """Client-facing texts of one direction; `{number}` and `{direction}` are filled in."""

    greeting: str
    acknowledgement: str
    resolved: str
    csat_prompt: str
    csat_thanks: str
    csat_good: str
    csat_bad: str


DEFAULT_TEXTS: dict[Language, DirectionTexts] = {
    "ru": DirectionTexts(
        greeting=(
            "Здравствуйте! Вы пишете в поддержку «{direction}»: вам отвечают люди. "
            "Опишите проблему: что вы делали, что ожидали, что произошло, "
            "и приложите снимок экрана, если можете."
        ),
        acknowledgement="Обращение {number} зарегистрировано. Мы ответим как можно скорее.",
        resolved="Обращение {number} решено. {resolution}",
        csat_prompt="Оцените, пожалуйста, ответ по обращению {number}.",
        csat_thanks="Спасибо за оценку!",
        csat_good="👍 Хорошо",
        csat_bad="👎 Плохо",
    ),
    "en": DirectionTexts(
        greeting=(
            "Hello! You are writing to {direction} support: real people answer here. "
            "Please describe the problem: what you did, what you expected, what happened, "
            "and attach a screenshot if you can."
        ),
        acknowledgement="Your request {number} is registered. We will answer as soon as we can.",
        resolved="Your request {number} is resolved. {resolution}",
        csat_prompt="Please rate the answer to your request {number}.",
        csat_thanks="Thank you for your rating!",
        csat_good="👍 Good",
        csat_bad="👎 Bad",
    ),
}


class DirectionConfig(BaseModel):
    """One business line: its numbers, bots, texts and thresholds."""

    id: str
    name: str = ""
    language: Language = "ru"
    timezone: str = "Europe/Moscow"
    phone_numbers: list[str] = Field(default_factory=list)  # support lines (E.164)
    telegram_bot_ids: list[str] = Field(default_factory=list)
    whatsapp_phone_number_ids: list[str] = Field(default_factory=list)
    texts: DirectionTexts | None = None
    csat_scale: Literal["binary", "stars"] = "binary"
    whatsapp_resolved_template: str | None = None  # approved template outside the 24h window
    whatsapp_template_language: str = "ru"
    problem_call_seconds: int = 300

    def display_name(self) -> str:
        return self.name or self.id.upper()

    def client_texts(self) -> DirectionTexts:
        return self.texts or DEFAULT_TEXTS[self.language]


class HelpdeskConfig(BaseModel):
    directions: list[DirectionConfig] = Field(default_factory=list)


class Settings(BaseModel):
    stage: str = "local"
    table_name: str = "helpdesk"
    queue_url: str = ""
    problem_calls_topic_arn: str | None = None
    groups_claim: str = "cognito:groups"
    default_direction: str = "d0"
    telegram_bot_token: SecretStr | None = None
    telegram_secret_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_access_token: SecretStr | None = None
    whatsapp_api_base: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    whatsapp_phone_number_id: str | None = None
    twilio_auth_token: SecretStr | None = None
    zadarma_api_secret: SecretStr | None = None
    zadarma_timezone: str = "UTC"
    generic_cti_token: SecretStr | None = None
    public_base_url: str | None = None
    sandbox_url: str | None = None  # where the sandbox channel posts (the local stack's)
    config: HelpdeskConfig = Field(default_factory=HelpdeskConfig)

    def direction(self, direction_id: str) -> DirectionConfig:
        """A configured direction, or a default one: unknown lines still get served."""
        for direction in self.config.directions:
            if direction.id == direction_id:
                return direction
        return DirectionConfig(id=direction_id)

    def direction_ids(self) -> list[str]:
        ids = [direction.id for direction in self.config.directions]
        return ids if self.default_direction in ids else [*ids, self.default_direction]

    def direction_for_phone_line(self, number: str | None) -> str:
        for direction in self.config.directions:
            if number and number in direction.phone_numbers:
                return direction.id
        return self.default_direction

    def direction_for_telegram_bot(self, bot_id: str) -> str:
        for direction in self.config.directions:
            if bot_id in direction.telegram_bot_ids:
                return direction.id
        return self.default_direction

    def direction_for_whatsapp_number(self, phone_number_id: str) -> str | None:
        """None means: not our number, ignore the traffic."""
        for direction in self.config.directions:
            if phone_number_id in direction.whatsapp_phone_number_ids:
                return direction.id
        if phone_number_id == self.whatsapp_phone_number_id:
            return self.default_direction
        return None

    def telegram_bot_id(self) -> str:
        token = self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else ""
        return token.split(":", 1)[0] or "bot"


def _load_config(raw: str | None) -> HelpdeskConfig:
    if not raw:
        return HelpdeskConfig()
    text = raw if raw.lstrip().startswith("{") else Path(raw).read_text(encoding="utf-8")
    return HelpdeskConfig.model_validate(json.loads(text))


_ENV_NAMES = {
    "stage": "STAGE",
    "table_name": "TABLE_NAME",
    "queue_url": "QUEUE_URL",
    "problem_calls_topic_arn": "PROBLEM_CALLS_TOPIC_ARN",
    "groups_claim": "GROUPS_CLAIM",
    "default_direction": "DEFAULT_DIRECTION",
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN",
    "telegram_secret_token": "TELEGRAM_SECRET_TOKEN",
    "telegram_api_base": "TELEGRAM_API_BASE",
    "whatsapp_app_secret": "WHATSAPP_APP_SECRET",
    "whatsapp_verify_token": "WHATSAPP_VERIFY_TOKEN",
    "whatsapp_access_token": "WHATSAPP_ACCESS_TOKEN",
    "whatsapp_api_base": "WHATSAPP_API_BASE",
    "whatsapp_api_version": "WHATSAPP_API_VERSION",
    "whatsapp_phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "zadarma_api_secret": "ZADARMA_API_SECRET",
    "zadarma_timezone": "ZADARMA_TIMEZONE",
    "generic_cti_token": "GENERIC_CTI_TOKEN",
    "public_base_url": "PUBLIC_BASE_URL",
    "sandbox_url": "SANDBOX_URL",
}


@cache
def get_settings() -> Settings:
    # An empty variable counts as unset: CloudFormation passes "" for optional parameters.
    values: dict[str, object] = {
        field: os.environ[name] for field, name in _ENV_NAMES.items() if os.environ.get(name)
    }
    values["config"] = _load_config(os.environ.get("HELPDESK_CONFIG"))
    return Settings.model_validate(values)
