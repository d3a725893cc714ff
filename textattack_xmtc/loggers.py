"""TextAttack's logging, extended for XMTC results: provenance, the paper's metrics, no lost rows.

:func:`install` is the one place where this package changes TextAttack's
logging and run loop. It runs when the first :class:`~textattack_xmtc.attack.XMTCAttack`
is built (so a process that never builds one, such as a run of a stock recipe,
keeps TextAttack's behaviour untouched) and changes three things:

* ``AttackLogManager.add_output_csv`` (``--log-to-csv``) makes an
  :class:`XMTCCSVLogger`. For results of an ``XMTCAttack`` it writes every
  row as soon as the result is logged, with TextAttack's columns followed by
  every field of :class:`~textattack_xmtc.results.XMTCRecord` (the paper's
  numbers and the run's provenance), and flushes it: a run stopped by Ctrl-C
  keeps every finished result (TextAttack's own logger writes its file only at
  the end of the run). For any other result it is TextAttack's logger, byte
  for byte.
* ``AttackLogManager.log_summary`` adds the paper's metrics (and, on the
  terminal and in ``--log-to-txt``, the attack's components and provenance)
  after TextAttack's own summary; the ``--log-summary-to-json`` file gains an
  ``"XMTC run"`` entry with the metrics as numbers, their definitions and the
  run's provenance.
* ``Attacker.attack_dataset`` tells an ``XMTCAttack`` the seed it runs under
  (``AttackArgs.random_seed``, the ``--random-seed`` that the Attacker passes
  to ``textattack.shared.utils.set_seed`` and records nowhere else), so that
  every record carries it; and on Ctrl-C it flushes the text and CSV loggers
  before the run stops.

Usage::

    install()            # done by XMTCAttack; installing twice is harmless
    rows = read_csv_rows(csv_path)   # textattack_xmtc.results
"""
from __future__ import annotations

import csv
import json
from typing import List

from textattack import Attacker
from textattack.loggers import AttackLogManager, CSVLogger, FileLogger, JsonSummaryLogger
from textattack.shared import AttackedText

from .results import csv_cells

_installed = False

XMTC_METRICS_TITLE = "XMTC metrics (Qaraei & Babbar)"
XMTC_RUN_KEY = "XMTC run"


def install() -> None:
    """Extend TextAttack's logging and run loop for XMTC results (once per process)."""
    global _installed
    if _installed:
        return
    stock_log_summary = AttackLogManager.log_summary
    stock_attack_dataset = Attacker.attack_dataset

    def log_summary(self):
        stock_log_summary(self)
        log_xmtc_summary(self)

    def add_output_csv(self, filename, color_method):
        self.loggers.append(XMTCCSVLogger(filename=filename, color_method=color_method))

    def attack_dataset(self):
        from .attack import XMTCAttack

        if isinstance(self.attack, XMTCAttack):
            self.attack.random_seed = self.attack_args.random_seed
        try:
            return stock_attack_dataset(self)
        except KeyboardInterrupt:
            if isinstance(self.attack, XMTCAttack) and self.attack_log_manager is not None:
                flush_finished_results(self.attack_log_manager)
            raise

    AttackLogManager.log_summary = log_summary
    AttackLogManager.add_output_csv = add_output_csv
    Attacker.attack_dataset = attack_dataset
    _installed = True


def flush_finished_results(manager: AttackLogManager) -> None:
    """Put every result logged so far on disk (text and CSV logs; a summary needs the whole run)."""
    for logger in manager.loggers:
        # An XMTC CSV logger has already flushed its rows; one with none yet must not write an empty file.
        if isinstance(logger, FileLogger) or (isinstance(logger, XMTCCSVLogger) and logger._incremental):
            logger.flush()


# -- CSV --------------------------------------------------------------------

def stock_csv_row(result, color_method) -> dict:
    """TextAttack 0.3.11's CSV row of one result (``CSVLogger.log_attack_result``)."""
    original_text, perturbed_text = result.diff_color(color_method)
    return {
        "original_text": original_text.replace("\n", AttackedText.SPLIT_TOKEN),
        "perturbed_text": perturbed_text.replace("\n", AttackedText.SPLIT_TOKEN),
        "original_score": result.original_result.score,
        "perturbed_score": result.perturbed_result.score,
        "original_output": result.original_result.output,
        "perturbed_output": result.perturbed_result.output,
        "ground_truth_output": result.original_result.ground_truth_output,
        "num_queries": result.num_queries,
        "result_type": result.__class__.__name__.replace("AttackResult", ""),
    }


class XMTCCSVLogger(CSVLogger):
    """``--log-to-csv`` for XMTC results: one row per result, on disk as soon as it is logged.

    Columns: TextAttack's (``original_text`` ... ``result_type``), then the
    fields of :class:`~textattack_xmtc.results.XMTCRecord` (lists and dicts as
    JSON text). Quoting as TextAttack's (``csv.QUOTE_NONNUMERIC``), so pandas
    reads the file and :func:`textattack_xmtc.results.read_csv_rows` gets the
    rows back with their types.

    Until the first result with an XMTC record it is TextAttack's logger
    unchanged (the file written at the end, byte for byte TextAttack's). After
    one, every row is appended and flushed as it comes; a row with columns
    the file lacks (a result of another attack) rewrites the file with all
    columns. Restored from a TextAttack checkpoint, it rewrites the file with
    the checkpoint's rows first, dropping rows logged after the checkpoint (the
    resumed run attacks those examples again).
    """

    def __init__(self, filename="results.csv", color_method="file"):
        super().__init__(filename=filename, color_method=color_method)
        self._incremental = False
        self._handle = None
        self._writer = None
        self._columns: List[str] = []

    def log_attack_result(self, result):
        record = getattr(result, "xmtc", None)
        if record is None and not self._incremental:
            super().log_attack_result(result)
            return
        row = stock_csv_row(result, self.color_method)
        if record is not None:
            row.update(record.to_row())
        row = csv_cells(row)
        self.row_list.append(row)
        self._incremental = True
        if self._handle is None or not set(row) <= set(self._columns):
            self._rewrite()
        else:
            self._writer.writerow(row)
            self._handle.flush()
        self._flushed = True

    def _rewrite(self) -> None:
        """Write the file anew: a header of every column so far, then every row."""
        self._close_handle()
        columns: dict = {}
        for row in self.row_list:
            columns.update(dict.fromkeys(row))
        self._columns = list(columns)
        self._handle = open(self.filename, "w", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._handle, self._columns, restval="",
                                      quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        self._writer.writeheader()
        self._writer.writerows(self.row_list)
        self._handle.flush()

    def flush(self):
        if not self._incremental:
            super().flush()
            return
        if self._handle is None:  # restored from a checkpoint, nothing logged since
            self._rewrite()
        self._handle.flush()
        self._flushed = True

    def close(self):
        self._close_handle()
        super().close()

    def _close_handle(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle = self._writer = None

    def __getstate__(self):  # checkpoints pickle the loggers; a file handle does not pickle
        state = dict(self.__dict__)
        state["_handle"] = state["_writer"] = None
        return state


# -- summary ----------------------------------------------------------------

def log_xmtc_summary(manager: AttackLogManager) -> None:
    """Log the paper's metrics, the components and the provenance of the XMTC results of a run."""
    records = [result.xmtc for result in manager.results if getattr(result, "xmtc", None)]
    if not records:
        return
    from .metrics.attack import DEFINITIONS, paper_metrics

    metrics = paper_metrics(record.to_row() for record in records)
    provenance = run_provenance(records)
    components = [["Candidate source:", records[-1].candidate_source],
                  ["Similarity encoder:", records[-1].encoder or "none"]]
    overridden = [record for record in records if record.options.get("k") not in (None, record.k)]
    if overridden:  # the banner said the default; say how many rows asked for their own k
        components.append(["Rows with their own k:", f"{len(overridden)} of {len(records)} overrode the "
                           f"default k={records[0].options.get('k')}"])
    if isinstance(provenance, dict):
        components += provenance_rows(provenance)
    else:
        components.append(["Provenance:", f"{len(provenance)} different settings (see each row's)"])
    for logger in manager.loggers:
        _log_table(logger, metrics.table_rows(), XMTC_METRICS_TITLE, "xmtc_metrics")
        if isinstance(logger, JsonSummaryLogger):
            # TextAttack's JSON logger takes numbers only in its tables: our entry goes in whole.
            entry = {"metrics": metrics.as_dict(), "definitions": DEFINITIONS,
                     "candidate_source": records[-1].candidate_source, "encoder": records[-1].encoder,
                     "provenance": provenance}
            logger.json_dictionary[XMTC_RUN_KEY] = json.loads(json.dumps(entry, default=str))
        else:
            _log_table(logger, components, "XMTC attack components", "xmtc_components")


def run_provenance(records) -> object:
    """The provenance of a run's records: one dict, or a list of the distinct ones if they differ."""
    distinct: List[dict] = []
    for record in records:
        provenance = record.provenance()
        if provenance not in distinct:
            distinct.append(provenance)
    return distinct[0] if len(distinct) == 1 else distinct


def provenance_rows(provenance: dict) -> list:
    """Table rows of a run's provenance, one per option and per field of the victim's identity."""
    rows = [[f"Option {name}:", _text(value)] for name, value in sorted(provenance["options"].items())]
    # An empty value (a victim without adversarial training) reads "none", not as a blank row.
    rows += [[f"Victim {name}:", _text(value) if value not in ("", None) else "none"]
             for name, value in provenance["victim"].items()]
    rows += [["Seed (--random-seed):", _text(provenance["seed"])],
             ["textattack-xmtc version:", provenance["package_version"]],
             ["TextAttack version:", provenance["textattack_version"]]]
    return rows


def _text(value) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return "none" if value is None else str(value)


def _log_table(logger, rows, title: str, window_id: str) -> None:
    """Log one summary table; on a terminal, on lines of its own.

    TextAttack's file logger writes its tables without a trailing newline, so
    ours would otherwise start on the same line as the previous one.
    """
    on_terminal = isinstance(logger, FileLogger) and logger.stdout
    if on_terminal:
        logger.fout.write("\n")
    logger.log_summary_rows(rows, title, window_id)
    if on_terminal:
        logger.fout.write("\n")

