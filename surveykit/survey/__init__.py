"""Survey estimation: the design, its linearisation engine, proportions and numeric estimates,
comparisons and tables, weighting and calibration, and the disclosure rules."""
