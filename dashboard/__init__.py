"""Awareness Leaderboard dashboard (Streamlit): reads only the published snapshot."""
