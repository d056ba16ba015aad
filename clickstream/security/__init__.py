"""The security gate: checkov over the Terraform source, every plan, and the code (secrets).

``make security`` (``python -m clickstream.security``) runs three checkov scans and writes a
report a reviewer can read:

* **source**: ``modules/`` and ``envs/`` as HCL (every module, example and env; new folders are
  picked up by the glob, nothing to register);
* **plan**: ``terraform show -json`` of every env and every module example, planned against the
  AWS emulator with the Lambda zips built, so checks see resolved values (data-source policy
  documents, variables, ``for_each``) that a source scan cannot;
* **secrets**: ``lambda_src/``, ``shiny_app/``, ``web/`` and ``clickstream/``.

Why the gate re-resolves inline skips of plan findings itself: checkov's
``--repo-root-for-plan-enrichment`` (which we pass, so paths and line numbers are right in most
cases) keys source resources by ``type.name`` only. With every module naming its main resource
``this``, a ``#checkov:skip`` on ``aws_security_group.this`` in one module would silence the
same check on another module's ``aws_security_group.this``, or a real skip would be ignored.
The plan's own ``configuration`` says which module directory each address comes from, so each
plan finding is tied to the exact ``resource`` block and only that block's skips apply.

Outputs (``reports/`` by default): ``checkov.junit.xml``, ``checkov.sarif``, ``security.md``
(per target counts, every failure with its location, every skip with its reason, the inline
skip inventory and the AWS Foundational Security Best Practices mapping) and
``security.json`` (the normalised findings, for tests and tooling). The exit status is 1 if any
finding is unsuppressed, a skip has no reason, a plan could not be produced or checkov could not
parse a file: a gate that silently scans less is not a gate.

The modules, one job each; imports run down this list, never up (``model`` imports none of
them, ``cli`` may import all):

* :mod:`~clickstream.security.model`: settings, :class:`Finding`, skip comments, plan outcomes;
* :mod:`~clickstream.security.hcl`: the Terraform source index (block lines) and inline skips;
* :mod:`~clickstream.security.plans`: the inputs and the plans of every root, module addresses;
* :mod:`~clickstream.security.runs`: running checkov and preparing what it reads;
* :mod:`~clickstream.security.findings`: checkov records normalised, deduplicated, skips resolved;
* :mod:`~clickstream.security.controls`: the control mapping, data in ``controls.yaml``;
* :mod:`~clickstream.security.reports`: ``security.md``, JUnit, SARIF and ``security.json``;
* :mod:`~clickstream.security.gate`: one run, joining the steps;
* :mod:`~clickstream.security.cli`: the command line (``__main__`` calls it).
"""
