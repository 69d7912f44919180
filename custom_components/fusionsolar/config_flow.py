"""Config flow: account, plant selection, reauth, reconfigure and options."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant, callback
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
from yarl import URL

from .account import (
    AccountProbe,
    account_key,
    async_get_registry,
    entry_account_key,
    settings_from_data,
)
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
from .coordinator import FusionSolarConfigEntry

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


def _url_problem(value: str) -> str | None:
    """Why a host or URL cannot be used ("invalid" or "credentials"), or None."""
    text = value.strip()
    try:
        url = URL(text if "://" in text else f"https://{text}")
        port = url.port
    except ValueError:
        return "invalid"
    if url.user is not None or url.password is not None:
        return "credentials"
    host = url.host or ""
    if url.scheme not in ("http", "https") or not host or not port or any(map(str.isspace, host)):
        return "invalid"
    return None


def _input_errors(data: Mapping[str, Any]) -> dict[str, str]:
    """Form errors for hosts and URLs that cannot be used, named by their field."""
    errors: dict[str, str] = {}
    if problem := _url_problem(data[CONF_HOST]):
        errors[CONF_HOST] = "host_credentials" if problem == "credentials" else "invalid_host"
    for key in (CONF_LEGACY_URL, CONF_V7_URL):
        if key in data and _url_problem(data[key]):
            # Errors of fields in a section are shown on the section.
            errors[ADVANCED] = f"invalid_{key}"
    return errors


def _title(data: Mapping[str, Any]) -> str:
    return f"{data[CONF_USERNAME]} ({data[CONF_HOST]})"


def _error_key(err: Exception) -> str:
    return next(key for error_type, key in ERRORS if isinstance(err, error_type))


def _plant_label(plant: Plant) -> str:
    return plant.name or plant.code


def _plant_selector(plants: list[Plant]) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=[
                SelectOptionDict(value=plant.code, label=_plant_label(plant)) for plant in plants
            ],
            multiple=True,
        )
    )


def _plants_elsewhere(hass: HomeAssistant, entry_id: str | None = None) -> set[str]:
    """Codes of the plants other config entries show (a plant belongs to one entry)."""
    return {
        code
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.entry_id != entry_id
        for code in entry.options.get(CONF_PLANTS, [])
    }


def _taken_labels(plants: list[Plant], codes: Iterable[str], taken: set[str]) -> str:
    """Name the plants among ``codes`` that another entry shows."""
    labels = {plant.code: _plant_label(plant) for plant in plants}
    return ", ".join(labels.get(code, code) for code in codes if code in taken)


def _plant_choice_errors(
    chosen: list[str], plants: list[Plant], taken: set[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Errors and their placeholders for a plant selection."""
    if not chosen:
        return {"base": "no_plant_selected"}, {}
    if clash := _taken_labels(plants, chosen, taken):
        return {CONF_PLANTS: "plant_configured_elsewhere"}, {"plants": clash}
    return {}, {}


class FusionSolarConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a FusionSolar northbound API account."""

    VERSION = 1
    MINOR_VERSION = 2

    def __init__(self) -> None:
        """Initialize the flow."""
        self._data: dict[str, Any] = {}
        self._plants: list[Plant] = []
        self._probe: AccountProbe | None = None

    async def _async_validate(
        self, data: Mapping[str, Any], key: str
    ) -> tuple[list[Plant], dict[str, str]]:
        """Log in and list the plants with a throw-away client; return them or form errors.

        The running entry keeps its client until the flow succeeds.
        """
        self._discard_probe()
        probe = await async_get_registry(self.hass).async_probe(settings_from_data(data), key)
        try:
            plants = await probe.async_validate()
        except FusionSolarError as err:
            LOGGER.debug("Validation of %s failed: %s", probe.client.host, type(err).__name__)
            error = _error_key(err)
        except Exception:
            LOGGER.exception("Unexpected error while validating the account")
            error = "unknown"
        else:
            self._probe = probe
            return plants, {}
        probe.discard()
        return [], {"base": error}

    def _discard_probe(self) -> None:
        if self._probe is not None:
            self._probe.discard()
            self._probe = None

    def _adopt_probe(self) -> None:
        """The flow succeeded: its validated client becomes the account's client."""
        assert self._probe is not None
        async_get_registry(self.hass).adopt(self._probe)
        self._probe = None

    @callback
    def async_remove(self) -> None:
        """Drop the validation client of a failed or abandoned flow."""
        self._discard_probe()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the management system's host and the NBI account."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _flatten(user_input)
            if not (errors := _input_errors(data)):
                key = account_key(data[CONF_USERNAME])
                await self.async_set_unique_id(key)
                self._abort_if_unique_id_configured()
                self._plants, errors = await self._async_validate(data, key)
            if not errors:
                if not self._plants:
                    return self.async_abort(reason="no_plants")
                self._data = data
                return await self.async_step_plants()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(_account_schema({}), user_input or {}),
            errors=errors,
        )

    async def async_step_plants(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Let the user pick the plants to add (default: all not in another entry)."""
        taken = _plants_elsewhere(self.hass)
        offered = [plant for plant in self._plants if plant.code not in taken]
        if not offered:
            return self.async_abort(
                reason="plants_configured_elsewhere",
                description_placeholders={
                    "plants": _taken_labels(self._plants, (p.code for p in self._plants), taken)
                },
            )
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            chosen = list(user_input.get(CONF_PLANTS, []))
            errors, placeholders = _plant_choice_errors(chosen, self._plants, taken)
            if not errors:
                self._adopt_probe()
                return self.async_create_entry(
                    title=_title(self._data),
                    data=self._data,
                    options={
                        CONF_PLANTS: chosen,
                        CONF_POLL_DEVICES: DEFAULT_POLL_DEVICES,
                        CONF_POLL_ALARMS: DEFAULT_POLL_ALARMS,
                        CONF_HISTORY_DAYS: DEFAULT_HISTORY_DAYS,
                    },
                )
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_PLANTS, default=[plant.code for plant in offered]
                ): _plant_selector(offered)
            }
        )
        return self.async_show_form(
            step_id="plants",
            data_schema=schema,
            errors=errors,
            description_placeholders=placeholders,
        )

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
            _plants, errors = await self._async_validate(data, entry_account_key(entry))
            if not errors:
                return self._async_update_entry(entry, data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(CONF_PASSWORD): PASSWORD_SELECTOR}),
            description_placeholders={CONF_USERNAME: entry.data[CONF_USERNAME]},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the host, URLs or password of the same account."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        plants: list[Plant] = []
        if user_input is not None:
            data = _flatten(user_input)
            if account_key(data[CONF_USERNAME]) != account_key(entry.data[CONF_USERNAME]):
                return self.async_abort(reason="wrong_account")
            if not (errors := _input_errors(data)):
                plants, errors = await self._async_validate(data, entry_account_key(entry))
            if not errors and not _shows_entry_plants(entry, plants):
                # Another system, or another account of the same name: not this entry's.
                self._discard_probe()
                errors = {CONF_HOST: "other_plants"}
            if not errors:
                return self._async_update_entry(entry, data)
        schema = _account_schema({**entry.data, ADVANCED: {}})
        return self.async_show_form(
            step_id="reconfigure",
            # After an error the form shows what was typed, next to the error.
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
        )

    def _async_update_entry(
        self, entry: FusionSolarConfigEntry, data: dict[str, Any]
    ) -> ConfigFlowResult:
        """Adopt the validated client, store the new data and reload the entry."""
        self._adopt_probe()
        title = _title(data) if entry.title == _title(entry.data) else entry.title
        return self.async_update_reload_and_abort(entry, data=data, title=title)

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: FusionSolarConfigEntry) -> FusionSolarOptionsFlow:
        """Return the options flow."""
        return FusionSolarOptionsFlow()


def _shows_entry_plants(entry: FusionSolarConfigEntry, plants: list[Plant]) -> bool:
    """Whether an account sees at least one of the entry's plants (so it is the same)."""
    return not {plant.code for plant in plants}.isdisjoint(entry.options.get(CONF_PLANTS, []))


class FusionSolarOptionsFlow(OptionsFlow):
    """Choose plants and optional data. Poll rates follow the cloud, never faster."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the options form."""
        entry = self.config_entry
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="not_loaded")
        try:
            plants = await entry.runtime_data.account.async_get_plants()
        except FusionSolarError as err:
            return self.async_abort(reason=_error_key(err))
        taken = _plants_elsewhere(self.hass, entry.entry_id)
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            chosen = list(user_input.get(CONF_PLANTS, []))
            errors, placeholders = _plant_choice_errors(chosen, plants, taken)
            if not errors:
                return self.async_create_entry(
                    data={**user_input, CONF_HISTORY_DAYS: int(user_input[CONF_HISTORY_DAYS])}
                )
        options = entry.options
        offered = [plant for plant in plants if plant.code not in taken]
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_PLANTS, default=list(options.get(CONF_PLANTS, []))
                ): _plant_selector(offered),
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
        return self.async_show_form(
            step_id="init", data_schema=schema, errors=errors, description_placeholders=placeholders
        )
