"""Tests of the shop service, over real HTTP."""
