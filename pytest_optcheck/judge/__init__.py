"""Pure judgement on numbers: the noise model, evidence over seeds, claim verdicts."""
