"""Our Rasa graph components. Rasa imports this package whenever it loads a model, so the speed-up of
nlu/rasa_speedups.py is applied in every Rasa process that runs our model (run, shell, test)."""

from nlu import rasa_speedups

rasa_speedups.apply()
