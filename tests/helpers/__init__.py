"""Test helpers shared by the rings."""
