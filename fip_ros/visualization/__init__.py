"""Offline pictures of skeletons (matplotlib, no display needed)."""
