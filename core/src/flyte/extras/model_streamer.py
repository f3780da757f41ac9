"""``flyte.extras.model_streamer`` of the published SDK: not available in this SDK yet."""

from flyte.extras._unavailable import unavailable

unavailable("model_streamer")
