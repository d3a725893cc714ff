"""Metrics: ranking quality of victims (``ranking``) and attack outcomes (``attack``)."""
