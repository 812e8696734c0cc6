"""Plausible body measurements: the one statement of the ranges ``body_model.validate_body`` checks and the
nodes' parameters declare. No torch, so the drivers and bag nodes that declare a body need none."""

HEIGHT_RANGE = (1.0, 2.3)  # m
ARM_RANGE = (0.35, 0.95)  # m, wrist to armpit
LEG_RANGE = (0.45, 1.25)  # m, ankle to hip
ARM_RATIO_RANGE = (0.22, 0.42)  # of the height
LEG_RATIO_RANGE = (0.38, 0.60)  # of the height
MASS_RANGE = (20.0, 300.0)  # kg, checked by the body_params node; the physics layer needs a mass
