"""Jobs built on the public model API: interpolation, plots, demo..."""
