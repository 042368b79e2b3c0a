"""The matrix page: escaped server-side table, inline CSS and JS, embedded JSON evidence.

Rules that keep it safe and fast: every interpolated string goes through ``html.escape``;
server-returned data is only in the JSON blob and only ever reaches the DOM via
``textContent``; evidence DOM is built when a cell is opened, never up front; no external
assets, so the page works offline and from ``file://``.
"""

from __future__ import annotations

import datetime as _dt
import html
from typing import TYPE_CHECKING, Any

from ._matrix_areas import EXCLUDED_FROM_SCORE, area_title
from .findings import describe

if TYPE_CHECKING:
    from .matrix import Matrix

SYMBOLS = {"pass": "\u2713", "fail": "\u2717", "unsupported": "\u2298", "error": "\u26a0", "skipped": "\u2013", "missing": "\u00b7"}
#: beside ✓ in a cell that passes with warnings (what OpenAI does but nothing documents; not counted)
WARN_MARK = "\u25b3"
LABELS = {"pass": "pass", "fail": "fail", "unsupported": "unsupported (declined)", "error": "error (inconclusive)",
          "skipped": "skipped", "missing": "not run"}

CSS = """
:root{--pass:#1a7f37;--pass-bg:#dafbe1;--fail:#b3261e;--fail-bg:#ffdcd7;--unsupported:#4b5563;--unsupported-bg:#e5e7eb;
--error:#8a5300;--error-bg:#fff1c2;--skipped:#6b7280;--skipped-bg:#f6f8fa;--line:#d0d7de;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif}
body{margin:0;color:#1f2328;background:#fff;font-size:14px}
header{padding:10px 16px;border-bottom:1px solid var(--line)}
h1{font-size:18px;margin:0 0 4px}
.meta{color:#57606a;font-size:12px}
.controls{display:flex;flex-wrap:wrap;gap:14px;align-items:center;margin-top:8px}
.controls fieldset{border:1px solid var(--line);border-radius:6px;padding:3px 8px;margin:0}
.controls legend{font-size:11px;color:#57606a}
.controls label{margin-right:8px;white-space:nowrap}
.legend span{margin-right:10px;white-space:nowrap}
.wrap{overflow:auto;max-height:calc(100vh - 130px)}
table{border-collapse:separate;border-spacing:0}
th,td{border-bottom:1px solid var(--line);border-right:1px solid var(--line);padding:3px 6px}
thead th{position:sticky;top:0;background:#f6f8fa;z-index:3;vertical-align:bottom;font-weight:600;font-size:12px;min-width:90px}
thead th.feature{left:0;z-index:4;text-align:left}
th.feature{position:sticky;left:0;background:#fff;z-index:2;text-align:left;font-weight:normal;max-width:420px;min-width:260px}
th.feature code{font-size:12px}
th.feature .title{display:block;color:#57606a;font-size:11px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:400px}
tr.area th{position:sticky;left:0;background:#eaeef2;text-align:left;font-size:13px;z-index:2}
td.cell{text-align:center;cursor:pointer;font-size:15px;min-width:40px;font-weight:700}
td.cell:focus{outline:3px solid #0969da;outline-offset:-3px}
td.o-pass{color:var(--pass);background:var(--pass-bg)}
td.o-fail{color:var(--fail);background:var(--fail-bg)}
td.o-unsupported{color:var(--unsupported);background:var(--unsupported-bg)}
td.o-error{color:var(--error);background:var(--error-bg)}
td.o-skipped{color:var(--skipped);background:var(--skipped-bg)}
td.o-missing{color:#afb8c1;cursor:default}
td.selected{outline:3px solid #0969da;outline-offset:-3px}
.score{display:block;font-size:16px;margin-top:3px}
.counts{display:block;font-weight:normal;color:#57606a}
.distinct{display:block;font-weight:600;color:#b3261e;font-size:12px}
td.warned{color:#8a5300}
.col-dev{display:block;font-weight:normal;color:#8a5300;font-size:11px}
#findings{padding:8px 16px}#findings details{margin:4px 0}#findings code{white-space:pre-wrap;word-break:break-word}
#evidence{position:fixed;top:0;right:0;width:min(760px,60vw);height:100vh;overflow:auto;background:#fff;
border-left:2px solid #0969da;box-shadow:-4px 0 16px rgba(0,0,0,.15);padding:12px 16px;box-sizing:border-box;z-index:10}
#evidence[hidden]{display:none}
#evidence h2{font-size:16px;margin:0 0 6px;padding-right:60px}
#evidence h3{font-size:13px;margin:14px 0 4px}
#evidence pre{white-space:pre-wrap;word-break:break-all;background:#f6f8fa;border:1px solid var(--line);padding:6px;max-height:24em;overflow:auto;font-size:12px;margin:2px 0}
#evidence .close{position:absolute;top:10px;right:14px}
#evidence .check{margin:4px 0;padding:4px 6px;border-left:4px solid var(--fail);background:#fff8f7}
#evidence .check.warning{border-color:var(--error);background:#fffbea}
.badge{display:inline-block;padding:0 6px;border-radius:10px;font-weight:600}
.badge.o-pass{color:var(--pass);background:var(--pass-bg)}.badge.o-fail{color:var(--fail);background:var(--fail-bg)}
.badge.o-unsupported{color:var(--unsupported);background:var(--unsupported-bg)}.badge.o-error{color:var(--error);background:var(--error-bg)}
.badge.o-skipped{color:var(--skipped);background:var(--skipped-bg)}
tr[hidden],tbody[hidden]{display:none}
"""

JS = r"""
(function(){
"use strict";
var DATA=null;
function data(){ if(DATA===null){ DATA=JSON.parse(document.getElementById('matrix-data').textContent); } return DATA; }
var SYM={pass:'\u2713',fail:'\u2717',unsupported:'\u2298',error:'\u26a0',skipped:'\u2013'};
function el(tag,cls,text){ var e=document.createElement(tag); if(cls){e.className=cls;} if(text!==undefined&&text!==null){e.textContent=String(text);} return e; }
function add(parent,tag,cls,text){ var e=el(tag,cls,text); parent.appendChild(e); return e; }
function pre(parent,text,cls){ return add(parent,'pre',cls||'',text); }
var panel=document.getElementById('evidence');
var current=null;
function closeEvidence(){ panel.hidden=true; panel.removeAttribute('data-cell'); if(current){current.classList.remove('selected');} current=null; setHash(); }
function openEvidence(key, fromHash){
  var ev=data().evidence[key];
  var td=document.querySelector('td.cell[data-cell="'+CSS.escape(key)+'"]');
  if(current){current.classList.remove('selected');}
  current=td; if(td){td.classList.add('selected');}
  var body=document.getElementById('evidence-body');
  while(body.firstChild){body.removeChild(body.firstChild);}
  panel.hidden=false; panel.setAttribute('data-cell',key);
  var sep=key.indexOf(':'); var ci=parseInt(key.slice(0,sep),10); var cid=key.slice(sep+1);
  var col=data().columns[ci]||{}; var row=data().rows[cid]||{};
  var h=add(body,'h2','',cid);
  add(body,'div','meta',(row.title||'')+' \u2014 '+(row.area_title||'')+' / '+(row.group||''));
  var who=add(body,'p',''); who.appendChild(el('b','',(col.provider||'?')+' / '+(col.model||'?')));
  if(col.deviations&&col.deviations.length){ who.appendChild(document.createTextNode(' (deviations: '+col.deviations.join(', ')+')')); }
  if(!ev){ add(body,'p','','This case was not run for this column.'); if(!fromHash){setHash();} return; }
  var v=add(body,'p',''); var b=add(v,'span','badge o-'+ev.outcome,(SYM[ev.outcome]||'')+' '+ev.outcome);
  b.setAttribute('data-outcome',ev.outcome);
  if(ev.message){ add(body,'p','message',ev.message); }
  if(row.spec&&row.spec.length){ add(body,'h3','','Spec reference'); var ul=add(body,'ul',''); row.spec.forEach(function(s){add(ul,'li','',s);}); }
  if(ev.checks.length){
    add(body,'h3','','Checks ('+ev.checks.length+' not clean of '+ev.checks_total+')');
    ev.checks.forEach(function(c){
      var d=add(body,'div','check'+(c.outcome==='pass'?' warning':''));
      var t=add(d,'div',''); add(t,'b','',c.name); t.appendChild(document.createTextNode(' ['+c.step+'] '+c.outcome+(c.severity==='warning'?' (warning)':'')));
      if(c.message){ add(d,'div','check-message',c.message); }
      if(c.spec_ref){ add(d,'div','meta','spec: '+c.spec_ref); }
      var fs=c.findings.filter(function(f){ return c.findings.length>1||(f.path||'$')+': '+f.message!==c.message; });
      if(fs.length){ var fl=add(d,'ul',''); fs.forEach(function(f){ add(fl,'li','',(f.path||'$')+': '+f.message); }); }
    });
  }
  ev.exchanges.forEach(function(x){
    add(body,'h3','','['+x.step+'] '+x.method+' '+x.url+' \u2192 '+(x.status===null?'no response':'HTTP '+x.status)+(x.error_kind?' ('+x.error_kind+')':''));
    add(body,'div','meta','curl (redacted; reproduces the request):');
    var cp=pre(body,x.curl,'curl');
    if(x.req_body){ add(body,'div','meta','request body'); pre(body,x.req_body,'req'); }
    if(x.error){ add(body,'div','meta','error'); pre(body,x.error,'err'); }
    if(x.sdk){ add(body,'div','meta','official SDK outcome (what the openai package returned or raised)'); pre(body,x.sdk,'sdk'); }
    if(x.headers&&x.headers.length){ add(body,'div','meta','response headers'); pre(body,x.headers.map(function(p){return p[0]+': '+p[1];}).join('\n'),'hdr'); }
    if(x.events){
      add(body,'div','meta','event transcript ('+x.events_total+' events'+(x.events_total>x.events.length?', first '+x.events.length+' shown':'')+')');
      pre(body,x.events.map(function(e,i){return '#'+i+' '+(e[0]||'(no event:)')+'\n'+e[1];}).join('\n'),'transcript');
    } else { add(body,'div','meta','response body'); pre(body,x.body,'body'); }
  });
  if(col.files&&col.files.length){ add(body,'div','meta','source: '+col.files.join(', ')); }
  if(!fromHash){setHash();}
  panel.scrollTop=0;
}
function checked(name){ return Array.prototype.filter.call(document.querySelectorAll('input[name="'+name+'"]'),function(i){return i.checked;}).map(function(i){return i.value;}); }
function applyFilters(){
  var areas=checked('area'), outcomes=checked('outcome'), diff=document.getElementById('only-diff').checked;
  var q=document.getElementById('search').value.trim().toLowerCase();
  var allOutcomes=document.querySelectorAll('input[name="outcome"]').length===outcomes.length;
  var shown=0;
  document.querySelectorAll('tbody[data-area]').forEach(function(tb){
    var on=areas.indexOf(tb.getAttribute('data-area'))>=0; var any=false;
    tb.querySelectorAll('tr[data-row]').forEach(function(tr){
      var os=tr.getAttribute('data-outcomes').split(' ');
      var ok=on&&(allOutcomes||os.some(function(o){return outcomes.indexOf(o)>=0;}));
      if(ok&&diff){ ok=tr.getAttribute('data-differs')==='1'; }
      if(ok&&q){ ok=tr.getAttribute('data-search').indexOf(q)>=0; }
      tr.hidden=!ok; if(ok){any=true; shown++;}
    });
    tb.hidden=!any;
  });
  document.getElementById('shown').textContent=String(shown);
}
function setHash(){
  var p=[]; var areas=checked('area'), outcomes=checked('outcome');
  if(areas.length!==document.querySelectorAll('input[name="area"]').length){p.push('area='+areas.map(encodeURIComponent).join(','));}
  if(outcomes.length!==document.querySelectorAll('input[name="outcome"]').length){p.push('outcome='+outcomes.map(encodeURIComponent).join(','));}
  if(document.getElementById('only-diff').checked){p.push('differs=1');}
  var q=document.getElementById('search').value.trim(); if(q){p.push('q='+encodeURIComponent(q));}
  if(!panel.hidden&&panel.getAttribute('data-cell')){p.push('cell='+encodeURIComponent(panel.getAttribute('data-cell')));}
  var h=p.length?'#'+p.join('&'):'';
  if(location.hash!==h){ history.replaceState(null,'',h||location.pathname+location.search); }
}
function fromHash(){
  var params={}; location.hash.replace(/^#/,'').split('&').forEach(function(kv){ if(!kv){return;} var i=kv.indexOf('='); var k=i<0?kv:kv.slice(0,i); var v=i<0?'':kv.slice(i+1); try{params[k]=decodeURIComponent(v);}catch(e){params[k]=v;} });
  function setBoxes(name,val){ var vals=val===undefined?null:val.split(','); document.querySelectorAll('input[name="'+name+'"]').forEach(function(i){ i.checked=vals===null||vals.indexOf(i.value)>=0; }); }
  setBoxes('area',params.area); setBoxes('outcome',params.outcome);
  document.getElementById('only-diff').checked=params.differs==='1';
  document.getElementById('search').value=params.q||'';
  applyFilters();
  if(params.cell){ openEvidence(params.cell,true); } else if(!panel.hidden){ panel.hidden=true; }
}
document.getElementById('matrix').addEventListener('click',function(e){ var td=e.target.closest('td.cell'); if(td&&td.getAttribute('data-cell')){ openEvidence(td.getAttribute('data-cell'),false); } });
document.getElementById('matrix').addEventListener('keydown',function(e){ if(e.key!=='Enter'&&e.key!==' '){return;} var td=e.target.closest('td.cell'); if(td){ e.preventDefault(); openEvidence(td.getAttribute('data-cell'),false); } });
document.querySelector('#evidence .close').addEventListener('click',closeEvidence);
document.addEventListener('keydown',function(e){ if(e.key==='Escape'&&!panel.hidden){closeEvidence();} });
document.querySelectorAll('.controls input').forEach(function(i){ i.addEventListener(i.type==='search'?'input':'change',function(){applyFilters(); setHash();}); });
window.addEventListener('hashchange',fromHash);
fromHash();
document.documentElement.setAttribute('data-ready','1');
})();
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _findings_section(w: Any, cols: list[Any], rows: list[Any]) -> None:
    """Per column, its distinct deviations (fail), then warnings and notes: what a column's red cells come down to.

    Each names its basis, how many cases it touches and links the first one's evidence (escaped, static)."""
    w('<section id="findings"><h2>Distinct deviations per column</h2>'
      '<p class="meta">Each finding counted once however many cases it touches (same check, normalised path and '
      "kind; a schema rule seen by several checks is one). \u2717 fails a stated rule (its basis in brackets); "
      "\u25b3 warnings and \u00b7 notes are not counted. Scored areas only; see docs/verdicts.md.</p>")
    for ci, col in enumerate(cols):
        found = col.distinct_findings(rows)
        fails = [f for f in found if f["severity"] == "fail"]
        failing = sum(1 for c in col.cases.values() if c.get("outcome") == "fail")
        w(f'<details data-col="{ci}"><summary>{_e(col.provider)} / {_e(col.model)}: {len(fails)} distinct deviation(s) '
          f"in {failing} failing case(s), {len(found) - len(fails)} warning(s)/note(s)</summary>")
        if found:
            w("<ol>")
            for f in found:
                mark = {"fail": "\u2717", "warning": "\u25b3", "note": "\u00b7"}[f["severity"]]
                link = f'#cell={ci}:{f["first_seen"]}'
                w(f'<li class="sev-{_e(f["severity"])}">{mark} <code>{_e(describe(f, 400))}</code> \u2014 '
                  f'{len(f["cases"])} case(s), first <a href="{_e(link)}">{_e(f["first_seen"])}</a></li>')
            w("</ol>")
        w("</details>")
    w("</section>")


def render_page(matrix: Matrix, blob: str, title: str) -> str:
    """The whole page as one string (the caller writes it)."""
    cols = matrix.columns
    scores = [c.score(matrix.rows) for c in cols]
    areas: list[str] = []
    for row in matrix.rows:
        if row.area not in areas:
            areas.append(row.area)
    out: list[str] = []
    w = out.append
    w(f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
      f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; script-src \'unsafe-inline\'; img-src data:">'
      f"<title>{_e(title)}</title><style>{CSS}</style></head><body>")
    generated = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    w(f'<header><h1>{_e(title)}</h1><div class="meta">{len(matrix.rows)} cases \u00d7 {len(cols)} provider/model columns, '
      f"from {len(matrix.sources)} results file(s); generated {_e(generated)}. "
      "Score = passes / (passes + failures), leaving out extensions, the official-SDK group, request fuzzing (fuzz), declined (unsupported), skipped and inconclusive cases; "
      "beside it, the distinct deviations behind the failures (one root cause counted once). "
      "Click a cell for its evidence.</div>")
    w('<div class="controls"><fieldset class="legend"><legend>legend</legend>')
    for o in ("pass", "fail", "unsupported", "error", "skipped", "missing"):
        w(f'<span><b class="badge o-{o}">{SYMBOLS[o]}</b> {_e(LABELS[o])}</span>')
        if o == "pass":
            w(f'<span><b class="badge o-pass">{SYMBOLS[o]}{WARN_MARK}</b> pass with warnings (not counted)</span>')
    w('</fieldset><fieldset><legend>areas</legend>')
    for a in areas:
        w(f'<label><input type="checkbox" name="area" value="{_e(a)}" checked> {_e(area_title(a))}</label>')
    w('</fieldset><fieldset><legend>rows with outcome</legend>')
    for o in ("pass", "fail", "unsupported", "error", "skipped"):
        w(f'<label><input type="checkbox" name="outcome" value="{o}" checked> {SYMBOLS[o]} {o}</label>')
    w('</fieldset><label><input type="checkbox" id="only-diff"> only rows where columns differ</label>'
      '<label>search <input type="search" id="search" placeholder="case id or title"></label>'
      f'<span class="meta"><span id="shown">{len(matrix.rows)}</span> rows shown</span></div></header>')
    w('<div class="wrap"><table id="matrix"><thead><tr><th class="feature" scope="col">Feature (case)</th>')
    for ci, (col, sc) in enumerate(zip(cols, scores)):
        pct = "n/a" if sc["percent"] is None else f"{sc['percent']:g}%"
        counts = " ".join(f"{SYMBOLS[o]}{sc['counts'][o]}" for o in ("pass", "fail", "unsupported", "error", "skipped") if sc["counts"].get(o))
        dev = f'<span class="col-dev">deviations: {_e(", ".join(col.deviations))}</span>' if col.deviations else ""
        partial = '<span class="col-dev">incomplete run</span>' if not col.complete else ""
        devs = sc["deviations"]
        warned = f" \u00b7 {devs['warning']} warning(s)" if devs["warning"] else ""
        w(f'<th scope="col" class="col" data-col="{ci}" title="{_e(col.base_url)}">{_e(col.provider)}<br>{_e(col.model)}'
          f'<span class="score" data-score="{_e(sc["percent"])}">{pct}</span>'
          f'<span class="distinct" data-deviations="{devs["fail"]}">{devs["fail"]} distinct deviation(s){warned}</span>'
          f'<span class="counts">{sc["passed"]}/{sc["scored"]} scored \u00b7 {_e(counts)}</span>{dev}{partial}</th>')
    w("</tr></thead>")
    for area in areas:
        rows = [r for r in matrix.rows if r.area == area]
        note = " (not scored)" if area in EXCLUDED_FROM_SCORE else ""
        w(f'<tbody data-area="{_e(area)}"><tr class="area"><th class="feature" colspan="{len(cols) + 1}">'
          f"{_e(area_title(area))} <span class=\"meta\">{len(rows)} cases{note}</span></th></tr>")
        for row in rows:
            outcomes = [col.cases[row.id]["outcome"] if row.id in col.cases else "missing" for col in cols]
            has_warnings = [bool(col.cases[row.id].get("warnings")) if row.id in col.cases else False for col in cols]
            differs = "1" if len(set(outcomes)) > 1 else "0"
            search = f"{row.id} {row.title} {row.group}".lower()
            w(f'<tr data-row="{_e(row.id)}" data-outcomes="{" ".join(sorted(set(outcomes)))}" data-differs="{differs}" '
              f'data-search="{_e(search)}"><th class="feature" scope="row"><code>{_e(row.id)}</code>'
              f'<span class="title" title="{_e(row.title)}">{_e(row.title)}</span></th>')
            for ci, o in enumerate(outcomes):
                if o == "missing":
                    w(f'<td class="cell o-missing" data-cell="{ci}:{_e(row.id)}" aria-label="not run">{SYMBOLS[o]}</td>')
                elif o == "pass" and has_warnings[ci]:  # passes, with warnings (not counted): its own mark
                    w(f'<td class="cell o-pass warned" data-cell="{ci}:{_e(row.id)}" data-outcome="{o}" tabindex="0" '
                      f'role="button" aria-label="pass with warnings">{SYMBOLS[o]}{WARN_MARK}</td>')
                else:
                    w(f'<td class="cell o-{o}" data-cell="{ci}:{_e(row.id)}" data-outcome="{o}" tabindex="0" role="button" '
                      f'aria-label="{_e(LABELS[o])}">{SYMBOLS[o]}</td>')
            w("</tr>")
        w("</tbody>")
    w('</table></div>')
    _findings_section(w, cols, matrix.rows)
    w('<aside id="evidence" hidden aria-label="evidence"><button class="close" type="button">close \u2715</button>'
      '<div id="evidence-body"></div></aside>')
    w(f'<script type="application/json" id="matrix-data">{blob}</script>')
    w(f"<script>{JS}</script></body></html>")
    return "".join(out)


__all__ = ["render_page"]
