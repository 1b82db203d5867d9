"""What the LMSs and CI systems read: Gradescope, PrairieLearn, Canvas, LTI 1.3 and JUnit, each over the scorecard."""
