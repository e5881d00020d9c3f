"""Face 1: Revenera FlexNet Operations "Updates and Insights" status log."""
