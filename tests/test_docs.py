# Copyright (c) pst-mm contributors. All rights reserved.
"""The documentation matches the repository: every relative link of the
README, the method pages and the tools guide resolves to a file (and its
``#anchor`` to a heading there), the figures are small, the metafiles name
every config with the parameter count it builds, and every generated table
and metafile equals what tools/analysis_tools/model_zoo_tables.py makes of
the configs now.

Regenerating every FLOPs cell takes several minutes on two CPU cores, so
the generated-text test counts the parameters of every config exactly and
FLOPs for the first row and the first PST/SPT row of every table
(``model_zoo_tables.py --check --quick``); ``--check`` alone counts all.
"""
import glob
import os.path as osp
import re
import sys

import pytest
import yaml

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
try:
    import model_zoo_tables as mzt
finally:
    sys.path.pop(0)

PAGES = ['README.md', 'tools/README.md'] + sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs', '*', 'README.md')))
METHOD_FOLDERS = ['pst_det', 'yolo_pst', 'pst_cls', 'baselines', 'spt', 'demo']
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')


def _prose(text):
    """``text`` without fenced code blocks (links there are not links)."""
    return re.sub(r'^```.*?^```', '', text, flags=re.S | re.M)


def _slug(heading):
    """GitHub's anchor of a markdown heading."""
    text = heading.strip().lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def _anchors(path):
    with open(path, encoding='utf-8') as f:
        text = _prose(f.read())
    return {
        _slug(m.group(1))
        for m in re.finditer(r'^#+ (.*)$', text, flags=re.M)
    }


def test_every_method_folder_has_a_page_and_a_metafile():
    assert sorted(osp.basename(osp.dirname(p)) for p in PAGES
                  if p.startswith('configs/')) == sorted(METHOD_FOLDERS)
    assert list(mzt.FOLDERS) == METHOD_FOLDERS
    for folder in METHOD_FOLDERS:
        assert osp.isfile(osp.join(REPO, 'configs', folder, 'metafile.yml'))


def test_readme_is_short_and_keeps_its_sections():
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    assert len(text.splitlines()) <= 300
    # the launchers' dataset check points users to this section
    assert re.search(r'^## Data layout$', text, flags=re.M)


@pytest.mark.parametrize('page', PAGES)
def test_relative_links_resolve(page):
    with open(osp.join(REPO, page), encoding='utf-8') as f:
        text = _prose(f.read())
    links = LINK.findall(text)
    assert links, f'{page} has no links'
    bad = []
    for link in links:
        if re.match(r'[a-z]+:', link):
            continue  # http(s) and other absolute URLs
        target, _, anchor = link.partition('#')
        path = osp.normpath(osp.join(REPO, osp.dirname(page), target)) \
            if target else osp.join(REPO, page)
        if not osp.isfile(path):
            bad.append(f'{link} (no such file)')
        elif anchor and path.endswith('.md') and anchor not in _anchors(
                path):
            bad.append(f'{link} (no heading #{anchor})')
    assert not bad, f'{page}: broken links: {bad}'


@pytest.mark.parametrize('page', PAGES)
def test_figures_are_small_pngs(page):
    with open(osp.join(REPO, page), encoding='utf-8') as f:
        images = re.findall(r'!\[[^\]]*\]\(([^)\s]+)\)', _prose(f.read()))
    for image in images:
        path = osp.join(REPO, osp.dirname(page), image)
        assert image.endswith('.png'), image
        assert osp.getsize(path) < 300 * 1024, f'{image} is over 300 KB'


def test_model_index_imports_every_metafile():
    with open(osp.join(REPO, 'model-index.yml'), encoding='utf-8') as f:
        index = yaml.safe_load(f)
    assert index == {
        'Import': [f'configs/{f}/metafile.yml' for f in METHOD_FOLDERS]
    }


@pytest.fixture(scope='module')
def stats():
    """Exact parameters of every config, FLOPs of the quick selection."""
    chosen = mzt.quick_selection()
    return mzt.CachedStats(exact=lambda path: path in chosen)


@pytest.mark.parametrize('folder', METHOD_FOLDERS)
def test_metafile_names_every_config_with_its_params(folder, stats):
    with open(
            osp.join(REPO, 'configs', folder, 'metafile.yml'),
            encoding='utf-8') as f:
        meta = yaml.safe_load(f)
    (collection, ) = meta['Collections']
    assert collection['README'] == f'configs/{folder}/README.md'
    configs = mzt.configs_of(folder)
    assert sorted(m['Config'] for m in meta['Models']) == configs
    shapes = mzt.metafile_shapes()
    for model in meta['Models']:
        path = model['Config']
        assert model['Name'] == osp.basename(path)[:-3]
        assert model['In Collection'] == collection['Name']
        assert model['Metadata']['Parameters'] == \
            stats(path, shapes[path])['params'], path
        # two-stage SPT detectors cannot be traced whole: no FLOPs
        assert ('FLOPs' in model['Metadata']) == (folder != 'spt'), path
        if folder != 'spt':
            assert isinstance(model['Metadata']['FLOPs'], int), path
        for result in model.get('Results', []):
            assert result['Metrics'], path


def test_generated_tables_and_metafiles_equal_the_generator(stats):
    report = mzt.differences(stats)
    assert not report, '\n'.join(
        report + ['regenerate: python tools/analysis_tools/'
                  'model_zoo_tables.py --write'])


def test_quick_check_compares_counted_cells_and_skips_the_others():
    assert mzt.lines_match('| `a.py` | 1.00 | ? |', '| `a.py` | 1.00 | 2.5 |')
    assert mzt.lines_match('| `a.py` | 1.00 | ? |', '| `a.py` | 1.00 | - |')
    assert not mzt.lines_match('| `a.py` | 1.00 | ? |',
                               '| `a.py` | 1.01 | 2.5 |')
    assert not mzt.lines_match('| `a.py` | 1.00 | ? |',
                               '| `a.py` | 1.00 | 2.5 | 3 |')
    assert mzt.lines_match('      FLOPs: ?', '      FLOPs: 1234')
    assert not mzt.lines_match('| 1.00 |', '| 1.0 |')
