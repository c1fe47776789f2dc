"""Reports generated from the figures: the daily bulletin (信息报送) in text and JSON."""
