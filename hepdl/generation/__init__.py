"""Stage generate: jets from Pythia 8 events, clustered, selected and truth-matched."""
