"""Config flow: account, plant selection, reauth, reconfigure and options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .account import AccountSettings, FusionSolarAccount, account_key, async_get_registry
from .api import (
    AuthenticationError,
    CommunicationError,
    FusionSolarError,
    NotAnNbiHostError,
    PermissionDeniedError,
    Plant,
    QuotaExceededError,
    QuotaWouldExceed,
)
from .const import (
    CONF_HISTORY_DAYS,
    CONF_LEGACY_URL,
    CONF_PLANTS,
    CONF_POLL_ALARMS,
    CONF_POLL_DEVICES,
    CONF_V7_URL,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_POLL_ALARMS,
    DEFAULT_POLL_DEVICES,
    DOMAIN,
    LOGGER,
    MAX_HISTORY_DAYS,
)

ADVANCED = "advanced"
PASSWORD_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))

# The error each client failure shows in the form.
ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (AuthenticationError, "invalid_auth"),
    (PermissionDeniedError, "no_permission"),
    (QuotaExceededError, "quota_exceeded"),
    (QuotaWouldExceed, "quota_exceeded"),
    (NotAnNbiHostError, "not_nbi_host"),
    (CommunicationError, "cannot_connect"),
    (FusionSolarError, "unknown"),
)


def _account_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, vol.UNDEFINED)): str,
            vol.Required(CONF_USERNAME, default=defaults.get(CONF_USERNAME, vol.UNDEFINED)): str,
            vol.Required(CONF_PASSWORD): PASSWORD_SELECTOR,
            vol.Required(ADVANCED): section(
                vol.Schema(
                    {
                        vol.Optional(
                            CONF_VERIFY_SSL, default=defaults.get(CONF_VERIFY_SSL, True)
                        ): bool,
                        vol.Optional(
                            CONF_LEGACY_URL,
                            description={"suggested_value": defaults.get(CONF_LEGACY_URL)},
                        ): URL_SELECTOR,
                        vol.Optional(
                            CONF_V7_URL, description={"suggested_value": defaults.get(CONF_V7_URL)}
                        ): URL_SELECTOR,
                    }
                ),
                {"collapsed": True},
            ),
        }
    )


def _flatten(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Turn the form (with its advanced section) into config entry data."""
    advanced = user_input.get(ADVANCED, {})
    data: dict[str, Any] = {
        CONF_HOST: user_input[CONF_HOST].strip(),
        CONF_USERNAME: user_input[CONF_USERNAME].strip(),
        CONF_PASSWORD: user_input[CONF_PASSWORD],
        CONF_VERIFY_SSL: advanced.get(CONF_VERIFY_SSL, True),
    }
    for key in (CONF_LEGACY_URL, CONF_V7_URL):
        if value := (advanced.get(key) or "").strip():
            data[key] = value
    return data


def _settings(data: Mapping[str, Any]) -> AccountSettings:
    return AccountSettings(
        host=data[CONF_HOST],
        username=data[CONF_USERNAME],
        password=data[CONF_PASSWORD],
        legacy_url=data.get(CONF_LEGACY_URL),
        v7_url=data.get(CONF_V7_URL),
        verify_ssl=data.get(CONF_VERIFY_SSL, True),
    )


def _error_key(err: Exception) -> str:
    return next(key for error_type, key in ERRORS if isinstance(err, error_type))


def _plant_selector(plants: list[Plant]) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=[
                SelectOptionDict(value=plant.code, label=plant.name or plant.code)
                for plant in plants
            ],
            multiple=True,
        )
    )


class FusionSolarConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a FusionSolar northbound API account."""

    VERSION = 1

    def __init__(self) -> None:
        """Initialize the flow."""
        self._data: dict[str, Any] = {}
        self._plants: list[Plant] = []

    async def _async_validate(self, data: Mapping[str, Any]) -> tuple[list[Plant], dict[str, str]]:
        """Log in and list the plants; return the plants or form errors."""
        account: FusionSolarAccount = await async_get_registry(self.hass).async_get(_settings(data))
        try:
            await account.client.async_login()
            return await account.async_get_plants(), {}
        except FusionSolarError as err:
            LOGGER.debug("Validation of %s failed: %s", data[CONF_HOST], type(err).__name__)
            return [], {"base": _error_key(err)}
        except Exception:
            LOGGER.exception("Unexpected error while validating the account")
            return [], {"base": "unknown"}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the management system's host and the NBI account."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _flatten(user_input)
            await self.async_set_unique_id(account_key(data[CONF_HOST], data[CONF_USERNAME]))
            self._abort_if_unique_id_configured()
            plants, errors = await self._async_validate(data)
            if not errors:
                if not plants:
                    return self.async_abort(reason="no_plants")
                self._data, self._plants = data, plants
                return await self.async_step_plants()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(_account_schema({}), user_input or {}),
            errors=errors,
        )

    async def async_step_plants(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Let the user pick the plants to add (default: all)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if chosen := user_input.get(CONF_PLANTS):
                return self.async_create_entry(
                    title=f"{self._data[CONF_USERNAME]} ({self._data[CONF_HOST]})",
                    data=self._data,
                    options={
                        CONF_PLANTS: chosen,
                        CONF_POLL_DEVICES: DEFAULT_POLL_DEVICES,
                        CONF_POLL_ALARMS: DEFAULT_POLL_ALARMS,
                        CONF_HISTORY_DAYS: DEFAULT_HISTORY_DAYS,
                    },
                )
            errors["base"] = "no_plant_selected"
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_PLANTS, default=[plant.code for plant in self._plants]
                ): _plant_selector(self._plants)
            }
        )
        return self.async_show_form(step_id="plants", data_schema=schema, errors=errors)

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start reauthentication when the credentials stop working."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the new password."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_PASSWORD: user_input[CONF_PASSWORD]}
            _plants, errors = await self._async_validate(data)
            if not errors:
                return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(CONF_PASSWORD): PASSWORD_SELECTOR}),
            description_placeholders={CONF_USERNAME: entry.data[CONF_USERNAME]},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the host, URLs or credentials of the same account."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _flatten(user_input)
            await self.async_set_unique_id(account_key(data[CONF_HOST], data[CONF_USERNAME]))
            self._abort_if_unique_id_mismatch(reason="wrong_account")
            _plants, errors = await self._async_validate(data)
            if not errors:
                return self.async_update_reload_and_abort(entry, data=data)
        defaults = {**entry.data, **{ADVANCED: {}}}
        return self.async_show_form(
            step_id="reconfigure", data_schema=_account_schema(defaults), errors=errors
        )

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: Any) -> FusionSolarOptionsFlow:
        """Return the options flow."""
        return FusionSolarOptionsFlow()


class FusionSolarOptionsFlow(OptionsFlow):
    """Choose plants and optional data. Poll rates follow the cloud, never faster."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the options form."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if user_input.get(CONF_PLANTS):
                return self.async_create_entry(
                    data={**user_input, CONF_HISTORY_DAYS: int(user_input[CONF_HISTORY_DAYS])}
                )
            errors["base"] = "no_plant_selected"
        try:
            plants = await self.config_entry.runtime_data.account.async_get_plants()
        except FusionSolarError as err:
            return self.async_abort(reason=_error_key(err))
        options = self.config_entry.options
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_PLANTS, default=list(options.get(CONF_PLANTS, []))
                ): _plant_selector(plants),
                vol.Required(
                    CONF_POLL_DEVICES, default=options.get(CONF_POLL_DEVICES, DEFAULT_POLL_DEVICES)
                ): bool,
                vol.Required(
                    CONF_POLL_ALARMS, default=options.get(CONF_POLL_ALARMS, DEFAULT_POLL_ALARMS)
                ): bool,
                vol.Required(
                    CONF_HISTORY_DAYS, default=options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS)
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=1, max=MAX_HISTORY_DAYS, step=1, mode=NumberSelectorMode.BOX
                    )
                ),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema, errors=errors)
