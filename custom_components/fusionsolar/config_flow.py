"""Config flow: account, plant selection, reauth, reconfigure and options."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    ConfigEntryState,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.helpers.aiohttp_client import async_get_clientsession
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
    FusionSolarClient,
    FusionSolarError,
    NotAnNbiHostError,
    OAuthRevokedError,
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
from .oauth import (
    CALLBACK_ERRORS,
    CALLBACK_PATH,
    CONF_TOKEN,
    FusionSolarImplementation,
    TokenRequestError,
    is_oauth_entry,
)

DEFAULT_OAUTH_HOST = "eu5.fusionsolar.huawei.com"

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
    if CONF_TOKEN in data:
        return f"FusionSolar owner ({data[CONF_HOST]})"
    return f"{data[CONF_USERNAME]} ({data[CONF_HOST]})"


def _static_token(token: str) -> Any:
    """A token provider for one check: a refused token is not refreshed."""

    async def provide(refused: str | None) -> str:
        if refused is not None:
            raise OAuthRevokedError("The new access token was refused")
        return token

    return provide


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


class FusionSolarConfigFlow(config_entry_oauth2_flow.AbstractOAuth2FlowHandler, domain=DOMAIN):
    """Add a FusionSolar northbound API account, or sign in with FusionSolar (OAuth)."""

    DOMAIN = DOMAIN
    VERSION = 1
    MINOR_VERSION = 2

    def __init__(self) -> None:
        """Initialize the flow."""
        super().__init__()
        self._oauth_host = DEFAULT_OAUTH_HOST
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

    @property
    def logger(self) -> logging.Logger:
        """The logger of Home Assistant's OAuth flow."""
        return LOGGER

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer both ways in: an API account, or signing in with FusionSolar."""
        return self.async_show_menu(step_id="user", menu_options=["account", "oauth"])

    async def async_step_account(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
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
            step_id="account",
            data_schema=self.add_suggested_values_to_schema(_account_schema({}), user_input or {}),
            errors=errors,
        )

    # ------------------------------------------------------------------ OAuth

    async def async_step_oauth(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the region's host, then sign in at FusionSolar."""
        errors: dict[str, str] = {}
        if user_input is not None:
            host = user_input[CONF_HOST].strip()
            if _url_problem(host):
                errors[CONF_HOST] = "invalid_host"
            else:
                self._oauth_host = host
                return await self.async_step_pick_implementation()
        return self.async_show_form(
            step_id="oauth",
            data_schema=vol.Schema({vol.Required(CONF_HOST, default=self._oauth_host): str}),
            errors=errors,
            description_placeholders={"callback_path": CALLBACK_PATH},
        )

    async def async_generate_authorize_url(self) -> str:
        """Huawei's link, at the authorization server of the chosen host."""
        if isinstance(self.flow_impl, FusionSolarImplementation):
            self.flow_impl = self.flow_impl.for_host(self._oauth_host)
        return await super().async_generate_authorize_url()

    async def async_step_authorize_rejected(self, data: None = None) -> ConfigFlowResult:
        """The owner refused, is not the owner, or the scope was wrong (§3.1.2.2)."""
        error = str(self.external_data.get("error", ""))
        if reason := CALLBACK_ERRORS.get(error):
            return self.async_abort(reason=reason)
        return self.async_abort(reason="oauth_rejected", description_placeholders={"error": error})

    async def async_step_creation(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Exchange the code; Huawei's token errors each have their message."""
        try:
            return await super().async_step_creation(user_input)
        except TokenRequestError as err:
            return self.async_abort(reason=err.reason, description_placeholders={"code": err.code})

    async def async_oauth_create_entry(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Check the token on the owner's plants; then pick plants (or finish the reauth)."""
        data = {**data, CONF_HOST: self._oauth_host}
        client = FusionSolarClient(
            async_get_clientsession(self.hass),
            self._oauth_host,
            "oauth",
            "",
            token_provider=_static_token(data[CONF_TOKEN]["access_token"]),
        )
        try:
            plants = await client.async_get_plants(wait=True)
        except OAuthRevokedError:
            return self.async_abort(reason="oauth_authorization_ended")
        except FusionSolarError as err:
            LOGGER.debug("Signed in, but the plant list failed: %s", type(err).__name__)
            return self.async_abort(
                reason="oauth_no_data", description_placeholders={"error": _error_key(err)}
            )
        if self.source == SOURCE_REAUTH:
            entry = self._get_reauth_entry()
            if not _shows_entry_plants(entry, plants):
                return self.async_abort(reason="wrong_account")
            return self.async_update_reload_and_abort(entry, data={**entry.data, **data})
        if not plants:
            return self.async_abort(reason="no_plants")
        await self.async_set_unique_id(f"oauth:{min(plant.code for plant in plants)}")
        self._abort_if_unique_id_configured()
        self._plants, self._data = plants, data
        return await self.async_step_plants()

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
                if self._probe is not None:
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
        """Start reauthentication when the credentials (or the authorization) stop working."""
        if CONF_TOKEN in entry_data:
            return await self.async_step_reauth_oauth()
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_oauth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Tell the owner the authorization ended; sign in again."""
        if user_input is None:
            return self.async_show_form(step_id="reauth_oauth")
        self._oauth_host = self._get_reauth_entry().data[CONF_HOST]
        return await self.async_step_pick_implementation()

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
        if is_oauth_entry(entry):
            return self.async_abort(reason="oauth_reconfigure")
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
