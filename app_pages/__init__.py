"""Pages of the surveykit Streamlit app (thin: widgets, one surveykit call, display)."""
