"""The app's look: a few accents over the platform style, readable in light and dark themes."""

ACCENT = "#3461c1"

STYLE_SHEET = f"""
QLabel#panelTitle {{ font-size: 15px; font-weight: 600; padding: 2px 0 4px 0; }}
QLabel#panelSummary {{ color: palette(placeholder-text); padding-left: 8px; }}
QLabel#emptyHint {{ color: palette(placeholder-text); border: 2px dashed palette(mid);
                    border-radius: 8px; padding: 24px; }}
QPushButton#trainButton {{ background: {ACCENT}; color: white; font-size: 16px; font-weight: 600;
                           border: none; border-radius: 6px; padding: 8px 24px; }}
QPushButton#trainButton:hover {{ background: #2a51a6; }}
QPushButton#trainButton:disabled {{ background: #8fa6d8; }}
QLabel#predictionLabel {{ font-size: 18px; font-weight: 600; padding: 4px 0; }}
QLabel#qualityHeadline {{ font-size: 16px; font-weight: 600; }}
QLabel#stageLabel {{ color: palette(placeholder-text); }}
QProgressBar {{ min-height: 18px; }}
QStatusBar QLabel {{ padding: 0 6px; }}
"""
