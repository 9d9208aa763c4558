"""Shared physics conventions (kinematics, phi wrapping, four-momenta) and jet observables."""
