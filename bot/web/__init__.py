"""The accessible web chat page: static files and a same-origin bridge to Rasa's REST channel."""
