"""Our extensions of Rasa 3.6, in one place.

- `rasa_ext.tracker_store.CachedSQLTrackerStore`: Rasa's SQL tracker store, cheaper per message (named in
  endpoints.yml and endpoints.scaled.yml).
- `rasa_ext.patches`: changes to Rasa's internals, applied explicitly by `bot/run_rasa.py` before Rasa starts, only
  on the Rasa version they were written for, and off with `WESTBOT_RASA_PATCHES=0`.
"""
