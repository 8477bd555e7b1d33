"""Turn stored results into pages: records -> pandas -> Plotly figures and Markdown tables -> site."""
