"""Constants for the Huawei FusionSolar integration."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

DOMAIN: Final = "fusionsolar"
LOGGER = logging.getLogger(__package__)

CONF_LEGACY_URL: Final = "legacy_url"
CONF_V7_URL: Final = "v7_url"
CONF_PLANTS: Final = "plants"
CONF_POLL_DEVICES: Final = "poll_devices"
CONF_POLL_ALARMS: Final = "poll_alarms"
CONF_HISTORY_DAYS: Final = "history_days"

DEFAULT_POLL_DEVICES: Final = True
DEFAULT_POLL_ALARMS: Final = True
DEFAULT_HISTORY_DAYS: Final = 30
MAX_HISTORY_DAYS: Final = 90

MANUFACTURER: Final = "Huawei"

# The cloud refreshes its data on 5-minute boundaries. We poll a little after
# each boundary so that what we show is never older than one refresh.
CLOUD_REFRESH: Final = timedelta(minutes=5)
POLL_OFFSET: Final = timedelta(seconds=30)
# Plant and device lists change rarely; the spec recommends at most hourly.
METADATA_INTERVAL: Final = timedelta(hours=1)
# Entities stay available while their data is at most this old.
STALE_AFTER: Final = timedelta(minutes=20)

# Fired once per plant when a forced charge/discharge task completes or times out.
EVENT_DISPATCH_FINISHED: Final = f"{DOMAIN}_dispatch_finished"
EVENT_CONTROL_TASK_FINISHED: Final = f"{DOMAIN}_control_task_finished"
