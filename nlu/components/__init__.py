"""Our Rasa graph components. Changes to Rasa itself are in rasa_ext/ and are applied by bot/run_rasa.py."""
