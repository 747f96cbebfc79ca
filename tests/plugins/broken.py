"""A plugin that fails while it is imported."""
raise RuntimeError("boom: this plugin cannot start")
