"""An in-house optimizer library, as a team might keep one: its optimizer, model and data."""
