"""Tests of the collectors layer."""
