#!/usr/bin/env python3
"""Ground truth for the raster engine's tests, produced by Debian's GDAL (dev-only, never at runtime).

    python3 tools/raster_fixtures.py            # from the repository root; needs gdal-bin
    python3 tools/raster_fixtures.py --user-defined   # only the user-defined projection GeoTIFFs

Writes, under tests/unit/raster/fixtures/:
  gdal-describe.json   per raster in ../shared/data/geotiff: what gdalinfo -json reports (size, bands,
                       types, nodata, colour interpretation, overviews, mask flags, EPSG code,
                       geotransform) and the WGS84 position of the four corners and four edge
                       midpoints as gdaltransform computes them (GCP-only rasters: first-order fit).
  gdal-stats.json      per-band statistics of the level Kestrel reads for them, from GDAL-decoded
                       pixels and GDAL's mask bands.
  gdalwarp-tiles.json  256 px Web Mercator tiles of scenes in four CRSs as gdalwarp renders them
                       (raw band values and alpha, zlib + base64).
  gdal-chips.json      small pixel windows cut with gdal_translate -srcwin, as plain numbers.
  user-defined/*.tif   tiny GeoTIFFs in user-defined projections (ProjectedCSTypeGeoKey = 32767: LCC 1SP
                       and 2SP, TM, polar, oblique and (double) oblique stereographic, Albers, LAEA,
                       Mercator, equirectangular on WGS84) made by
                       gdal_translate -a_srs '+proj=…' -a_ullr from a 16 × 12 gradient (our own data,
                       < 1 KB each), and user-defined-crs.json: their GeoKeys as written (read back from
                       the TIFF), gdalinfo's corner coordinates and their WGS84 positions (gdaltransform).
app/core/raster/georef/epsg-grid-fallback.json: EPSG Helmert transformations (with areas of use) for the
datums whose definitions need a shift grid Kestrel does not ship; and
app/core/raster/georef/epsg-deprecated.json: the EPSG dataset's deprecated → replacement CRS codes, read
from PROJ's proj.db (Debian proj-data). epsg-index holds current codes only; old GeoTIFFs still carry
deprecated ones (e.g. 29181 SAD69 / UTM 21S → 29191), and GDAL resolves them the same way.
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.normpath(os.path.join(ROOT, '..', 'shared', 'data', 'geotiff'))
OUT = os.path.join(ROOT, 'tests', 'unit', 'raster', 'fixtures')
PROJ_DB = '/usr/share/proj/proj.db'
EXTS = ('.tif', '.tiff', '.cog')


def rasters():
    for dirpath, _dirs, files in os.walk(DATA):
        for name in sorted(files):
            if name.lower().endswith(EXTS):
                yield os.path.relpath(os.path.join(dirpath, name), DATA)


def run(args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, text=True, check=True).stdout


def gdal_transform(path, points, order=None):
    """Pixel/line → WGS84 lon/lat through GDAL's own transformer for the file."""
    args = ['gdaltransform', '-t_srs', 'EPSG:4326', '-output_xy']
    if order is not None:
        args += ['-order', str(order)]
    args.append(path)
    out = run(args, '\n'.join(f'{p[0]} {p[1]}' for p in points) + '\n')
    return [[float(v) for v in line.split()[:2]] for line in out.strip().splitlines()]


def describe(rel):
    path = os.path.join(DATA, rel)
    info = json.loads(run(['gdalinfo', '-json', path]))
    w, h = info['size']
    bands = info['bands']
    gcps = info.get('gcps', {}).get('gcpList', [])
    entry = {
        'file': rel.replace(os.sep, '/'),
        'width': w,
        'height': h,
        'bands': len(bands),
        'types': [b['type'] for b in bands],
        'nodata': bands[0].get('noDataValue'),
        'colorInterpretation': [b.get('colorInterpretation') for b in bands],
        'overviews': [o['size'] for o in bands[0].get('overviews', [])],
        'maskFlags': bands[0].get('mask', {}).get('flags', []),
        'compression': info.get('metadata', {}).get('IMAGE_STRUCTURE', {}).get('COMPRESSION'),
        'epsg': info.get('stac', {}).get('proj:epsg'),
        'geoTransform': info.get('geoTransform'),
        'gcpCount': len(gcps),
    }
    if 'geoTransform' in info or gcps:
        names = ['upperLeft', 'upperRight', 'lowerRight', 'lowerLeft', 'top', 'right', 'bottom', 'left']
        pts = [[0, 0], [w, 0], [w, h], [0, h], [w / 2, 0], [w, h / 2], [w / 2, h], [0, h / 2]]
        lonlat = gdal_transform(path, pts, order=1 if gcps and 'geoTransform' not in info else None)
        entry['wgs84'] = {n: {'pixel': p, 'lonlat': ll} for n, p, ll in zip(names, pts, lonlat)}
    return entry


# Windows [xoff, yoff, xsize, ysize] of native pixels, small enough to commit as numbers. They are
# windows of Kestrel's chip plan for 16-pixel chips with 25 % overlap (stride 12, the last window
# flush with the image edge), so the tests can compare the plan's own chips with gdal_translate.
CHIP_WINDOWS = {
    'RGB.byte.tif': [[300, 300, 16, 16], [775, 702, 16, 16]],
    'rgb_lzw.tif': [[240, 252, 16, 16]],
    'RGBA.uint16.tif': [[300, 204, 16, 16]],
    'debian/L7_ETMs.tif': [[96, 120, 16, 16]],
    'geotiff-test-data/GA4886_VanderfordGlacier_2022_EGM2008_64m-epsg3031.cog': [[1008, 1008, 16, 16], [504, 1020, 16, 16]],
    'rio-tiler/cog_dateline.tif': [[1200, 1104, 16, 16], [1020, 1020, 16, 16]],
    'rio-tiler/cog_rgb.tif': [[120, 120, 16, 16]],
    'cogeo.tif': [[504, 504, 16, 16]],
    'alpha.tif': [[600, 600, 16, 16]],
    'rio-tiler/mosaic_cog1.tif': [[408, 408, 16, 16]],
    'rio-tiler/pix4d_alpha_nodata.tif': [[300, 348, 16, 16]],
    'solaris_sample_geotiff.tif': [[456, 456, 16, 16]],
    'debian/cbers2b_hrc_crop.tif': [[1500, 1500, 16, 16]],
    'world.rgb.tif': [[240, 120, 16, 16]],
}


def chip(rel, window):
    path = os.path.join(DATA, rel)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'chip.json')
        # Cut the window to a TIFF, then dump each band as XYZ text (x y value per pixel, row-major).
        tif = os.path.join(tmp, 'chip.tif')
        run(['gdal_translate', '-q', '-srcwin', *map(str, window), path, tif])
        info = json.loads(run(['gdalinfo', '-json', tif]))
        bands = []
        for b in range(1, len(info['bands']) + 1):
            run(['gdal_translate', '-q', '-b', str(b), '-of', 'XYZ', tif, out])
            with open(out) as f:
                bands.append([float(line.split()[2]) for line in f if line.strip()])
        return {'file': rel, 'window': window, 'bands': bands}


def stats_level(overviews, min_side=512):
    """Kestrel's rule: the coarsest overview whose longer side is still >= 512 (0 = full resolution)."""
    chosen = 0
    for i, (w, h) in enumerate(overviews, start=1):
        if max(w, h) >= min_side:
            chosen = i
    return chosen


def statistics(entry):
    """Per-band min/max/mean and nearest-rank 2/98 % percentiles of GDAL-decoded pixels of the level
    Kestrel reads, excluding what GDAL's per-band mask excludes (nodata, alpha, internal mask) and NaN."""
    import numpy as np
    path = os.path.join(DATA, entry['file'])
    level = stats_level(entry['overviews'])
    types = {'Byte': np.uint8, 'Int8': np.int8, 'UInt16': np.uint16, 'Int16': np.int16, 'UInt32': np.uint32,
             'Int32': np.int32, 'Float32': np.float32, 'Float64': np.float64}
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        oo = ['-oo', f'OVERVIEW_LEVEL={level - 1}'] if level > 0 else []
        for b, (t, ci) in enumerate(zip(entry['types'], entry['colorInterpretation']), start=1):
            if ci == 'Alpha':
                continue
            img, msk = os.path.join(tmp, f'b{b}.img'), os.path.join(tmp, f'm{b}.img')
            run(['gdal_translate', '-q', *oo, '-b', str(b), '-of', 'ENVI', path, img])
            run(['gdal_translate', '-q', *oo, '-b', f'mask,{b}', '-of', 'ENVI', path, msk])
            v = np.fromfile(img, dtype=types[t]).astype(np.float64)
            m = np.fromfile(msk, dtype=np.uint8)
            v = v[(m > 0) & ~np.isnan(v)]
            v.sort()
            n = len(v)
            pct = lambda p: float(v[min(n, max(1, int(np.ceil(p / 100 * n)))) - 1])
            out.append({'band': b - 1, 'min': float(v[0]), 'max': float(v[-1]), 'mean': float(v.mean()),
                        'p2': pct(2), 'p98': pct(98), 'validCount': int(n)})
    return {'file': entry['file'], 'level': level, 'bands': out}


# Scenes in different CRSs for the tile comparison: UTM (stripped, nodata), geographic, polar
# stereographic float32 COG, a rotated UTM grid. Tiles at the zoom nearest the native resolution
# (and one two zooms out), read from full resolution (-ovr NONE; the tests check Kestrel chose the
# same level), nearest neighbour, alpha where gdalwarp finds no data.
WARP_SCENES = [
    ('RGB.byte.tif', [0, -2]),
    ('geotiff-test-data/wildfires.tiff', [0]),
    ('geotiff-test-data/GA4886_VanderfordGlacier_2022_EGM2008_64m-epsg3031.cog', [0]),
    ('geotiff-test-data/umbra_mount_yasur.tiff', [0]),
]
WORLD = 2 * 3.141592653589793 * 6378137


def warp_tiles(described):
    import base64
    import math
    import zlib
    import numpy as np
    types = {'Byte': np.uint8, 'UInt16': np.uint16, 'Int16': np.int16, 'Float32': np.float32}
    out = []
    for rel, dzs in WARP_SCENES:
        entry = next(e for e in described if e['file'] == rel)
        path = os.path.join(DATA, rel)
        with tempfile.TemporaryDirectory() as tmp:
            vrt = os.path.join(tmp, 'w.vrt')
            run(['gdalwarp', '-q', '-of', 'VRT', '-t_srs', 'EPSG:3857', path, vrt])
            gt = json.loads(run(['gdalinfo', '-json', vrt]))['geoTransform']
            native = math.log2(WORLD / (256 * abs(gt[1])))
            lon = sum(p['lonlat'][0] for k, p in entry['wgs84'].items() if k in ('upperLeft', 'lowerRight')) / 2
            lat = sum(p['lonlat'][1] for k, p in entry['wgs84'].items() if k in ('upperLeft', 'lowerRight')) / 2
            for dz in dzs:
                z = int(math.floor(native)) + dz
                n = 2 ** z
                x = int((lon + 180) / 360 * n)
                y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
                size = WORLD / n
                minx, maxy = -WORLD / 2 + x * size, WORLD / 2 - y * size
                tif = os.path.join(tmp, f'{z}.tif')
                run(['gdalwarp', '-q', '-t_srs', 'EPSG:3857', '-te', repr(minx), repr(maxy - size), repr(minx + size), repr(maxy),
                     '-ts', '256', '256', '-r', 'near', '-ovr', 'NONE', '-dstalpha', '-of', 'GTiff', path, tif])
                bands = []
                nb = len(json.loads(run(['gdalinfo', '-json', tif]))['bands'])
                for b in range(1, nb + 1):
                    img = os.path.join(tmp, f'{z}-{b}.img')
                    run(['gdal_translate', '-q', '-b', str(b), '-of', 'ENVI', tif, img])
                    t = entry['types'][min(b, nb - 1) - 1]  # gdalwarp's alpha band has the data type of the others
                    raw = np.fromfile(img, dtype=types[t]).astype(types[t]).tobytes()
                    bands.append({'dtype': t, 'zlibBase64': base64.b64encode(zlib.compress(raw, 9)).decode()})
                out.append({'file': rel, 'z': z, 'x': x, 'y': y, 'bands': bands[:-1], 'alpha': bands[-1]})
    return out


def deprecated_codes():
    db = sqlite3.connect(PROJ_DB)
    rows = db.execute(
        "select deprecated_code, replacement_code from deprecation "
        "where table_name in ('projected_crs', 'geodetic_crs') "
        "and deprecated_auth_name = 'EPSG' and replacement_auth_name = 'EPSG' order by deprecated_code"
    ).fetchall()
    version = db.execute("select value from metadata where key = 'EPSG.VERSION'").fetchone()
    return {'source': f'PROJ proj.db (Debian proj-data), EPSG {version[0] if version else "?"}',
            'replacedBy': {str(a): int(b) for a, b in rows}}


def grid_fallbacks():
    """EPSG Helmert transformations to WGS84, with their areas of use, for the geographic CRSs whose
    epsg-index definition needs a datum grid Kestrel does not ship (NAD27 → NTv2_0.gsb, ...). PROJ
    falls back the same way when a grid is missing: the most accurate transformation whose area
    contains the data."""
    import re
    index = json.load(open(os.path.join(ROOT, 'node_modules', 'epsg-index', 'all.json')))
    geog = set()
    for code, entry in index.items():
        m = re.search(r'\+nadgrids=(\S+)', entry.get('proj4') or '')
        if not m or m.group(1) == '@null':
            continue
        if entry['kind'] == 'CRS-GEOGCRS':
            geog.add(int(code))
        else:
            g = re.search(r'\]\],AUTHORITY\["EPSG","(\d+)"\]\],PROJECTION', entry.get('wkt') or '')
            if g:
                geog.add(int(g.group(1)))
    db = sqlite3.connect(PROJ_DB)
    out = {}
    for code in sorted(geog):
        rows = db.execute(
            "select h.code, h.name, h.method_code, h.accuracy, h.tx, h.ty, h.tz, h.rx, h.ry, h.rz, h.rotation_uom_code,"
            " h.scale_difference, h.scale_difference_uom_code, e.south_lat, e.north_lat, e.west_lon, e.east_lon"
            " from helmert_transformation_table h join usage u on u.object_table_name = 'helmert_transformation'"
            " and u.object_auth_name = h.auth_name and u.object_code = h.code"
            " join extent e on e.auth_name = u.extent_auth_name and e.code = u.extent_code"
            " where h.auth_name = 'EPSG' and h.source_crs_auth_name = 'EPSG' and h.source_crs_code = ?"
            " and h.target_crs_auth_name = 'EPSG' and h.target_crs_code = '4326' and h.deprecated = 0"
            " and h.method_code in ('9603', '9606', '9607', '1031', '1032', '1033')"
            " order by h.accuracy", (str(code),)).fetchall()
        cands = []
        for (tcode, name, method, acc, tx, ty, tz, rx, ry, rz, ruom, ds, dsuom, s_, n_, w_, e_) in rows:
            rot = [rx or 0, ry or 0, rz or 0]
            if ruom not in (None, '9104'):  # arc-seconds is what proj4's towgs84 wants
                continue
            if dsuom not in (None, '9202'):  # parts per million
                continue
            if str(method) in ('9607', '1032'):  # coordinate frame rotation: proj4 uses position vector
                rot = [-r for r in rot]
            cands.append({'code': int(tcode), 'name': name, 'accuracy': acc,
                          'towgs84': [tx or 0, ty or 0, tz or 0, *rot, ds or 0],
                          'area': [w_, s_, e_, n_]})
        if cands:
            out[str(code)] = cands
    return out


# Scenes in datums with grid-based EPSG definitions (none among the shared rasters): tiny rasters
# the tests rebuild with geotiff.js from the same parameters; the corners here are GDAL's.
SYNTHETIC = [
    {'name': 'nad27-utm13n-colorado', 'epsg': 26713, 'width': 20, 'height': 10, 'ul': [500000, 4500000], 'pixel': [30, 30]},
    {'name': 'nad27-geographic-quebec', 'epsg': 4267, 'width': 16, 'height': 16, 'ul': [-72.5, 47.5], 'pixel': [0.01, 0.01]},
]


def synthetic(spec):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 's.tif')
        x0, y0 = spec['ul']
        w, h = spec['width'], spec['height']
        px, py = spec['pixel']
        run(['gdal_create', '-q', '-outsize', str(w), str(h), '-bands', '1', '-ot', 'Byte', '-a_srs', f"EPSG:{spec['epsg']}",
             '-a_ullr', str(x0), str(y0), str(x0 + w * px), str(y0 - h * py), path])
        pts = [[0, 0], [w, 0], [w, h], [0, h]]
        return {**spec, 'corners': [{'pixel': p, 'lonlat': ll} for p, ll in zip(pts, gdal_transform(path, pts))]}


# User-defined projections (no shared raster has one). Parameters are chosen so that GDAL cannot
# match an EPSG code (it would then write ProjectedCSTypeGeoKey = EPSG code instead of 32767);
# tools/raster_fixtures.py checks that it did not.
USER_DEFINED = [
    {'name': 'lcc-2sp', 'proj4': '+proj=lcc +lat_1=33 +lat_2=45 +lat_0=39 +lon_0=-96 +x_0=1000000 +y_0=500000 +datum=WGS84 +units=m +no_defs',
     'ullr': [-200000, 800000, -40000, 680000], 'coordTrans': 8},
    {'name': 'tmerc', 'proj4': '+proj=tmerc +lat_0=4 +lon_0=10.5 +k=0.9999 +x_0=200000 +y_0=-300000 +datum=WGS84 +units=m +no_defs',
     'ullr': [150000, 5000000, 310000, 4880000], 'coordTrans': 1},
    {'name': 'polar-stere-south', 'proj4': '+proj=stere +lat_0=-90 +lat_ts=-67 +lon_0=140 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs',
     'ullr': [-400000, 1600000, -80000, 1360000], 'coordTrans': 15},
    {'name': 'polar-stere-north-k', 'proj4': '+proj=stere +lat_0=90 +lon_0=-33 +k=0.994 +x_0=2000000 +y_0=2000000 +datum=WGS84 +units=m +no_defs',
     'ullr': [1500000, 1200000, 1820000, 960000], 'coordTrans': 15},
    {'name': 'oblique-stere', 'proj4': '+proj=sterea +lat_0=46.5 +lon_0=25.5 +k=0.99975 +x_0=500000 +y_0=500000 +datum=WGS84 +units=m +no_defs',
     'ullr': [300000, 700000, 460000, 580000], 'coordTrans': 16},
    {'name': 'albers', 'proj4': '+proj=aea +lat_1=-18 +lat_2=-36 +lat_0=-5 +lon_0=132 +x_0=100000 +y_0=0 +datum=WGS84 +units=m +no_defs',
     'ullr': [-600000, -2000000, -280000, -2240000], 'coordTrans': 11},
    {'name': 'laea', 'proj4': '+proj=laea +lat_0=55 +lon_0=15 +x_0=300000 +y_0=200000 +datum=WGS84 +units=m +no_defs',
     'ullr': [100000, 400000, 420000, 160000], 'coordTrans': 10},
    {'name': 'lcc-1sp', 'proj4': '+proj=lcc +lat_1=46.8 +lat_0=46.8 +lon_0=2.5 +k_0=0.99987 +x_0=600000 +y_0=2200000 +datum=WGS84 +units=m +no_defs',
     'ullr': [500000, 2300000, 660000, 2180000], 'coordTrans': 9},
    {'name': 'stere-oblique', 'proj4': '+proj=stere +lat_0=40 +lon_0=-100 +k=0.9995 +x_0=10000 +y_0=20000 +datum=WGS84 +units=m +no_defs',
     'ullr': [-150000, 180000, 10000, 60000], 'coordTrans': 14},
    {'name': 'equirectangular', 'proj4': '+proj=eqc +lat_ts=30 +lat_0=0 +lon_0=-10 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs',
     'ullr': [400000, 4500000, 560000, 4380000], 'coordTrans': 17},
    {'name': 'mercator-ts', 'proj4': '+proj=merc +lat_ts=20 +lon_0=100 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs',
     'ullr': [-800000, 2500000, -480000, 2260000], 'coordTrans': 7},
]
GEOKEY_NAMES = {
    1024: 'GTModelTypeGeoKey', 1025: 'GTRasterTypeGeoKey', 2048: 'GeographicTypeGeoKey', 2050: 'GeogGeodeticDatumGeoKey',
    2054: 'GeogAngularUnitsGeoKey', 2056: 'GeogEllipsoidGeoKey', 2057: 'GeogSemiMajorAxisGeoKey', 2059: 'GeogInvFlatteningGeoKey',
    3072: 'ProjectedCSTypeGeoKey', 3074: 'ProjectionGeoKey', 3075: 'ProjCoordTransGeoKey', 3076: 'ProjLinearUnitsGeoKey',
    3078: 'ProjStdParallel1GeoKey', 3079: 'ProjStdParallel2GeoKey', 3080: 'ProjNatOriginLongGeoKey', 3081: 'ProjNatOriginLatGeoKey',
    3082: 'ProjFalseEastingGeoKey', 3083: 'ProjFalseNorthingGeoKey', 3084: 'ProjFalseOriginLongGeoKey', 3085: 'ProjFalseOriginLatGeoKey',
    3086: 'ProjFalseOriginEastingGeoKey', 3087: 'ProjFalseOriginNorthingGeoKey', 3088: 'ProjCenterLongGeoKey', 3089: 'ProjCenterLatGeoKey',
    3090: 'ProjCenterEastingGeoKey', 3091: 'ProjCenterNorthingGeoKey', 3092: 'ProjScaleAtNatOriginGeoKey', 3093: 'ProjScaleAtCenterGeoKey',
    3094: 'ProjAzimuthAngleGeoKey', 3095: 'ProjStraightVertPoleLongGeoKey',
}


def geokeys(path):
    """The numeric GeoKeys of a little-endian classic TIFF's first IFD, read straight from the file
    (GeoKeyDirectoryTag 34735 + GeoDoubleParamsTag 34736): what listgeo would print, without geotiff-bin."""
    import struct
    with open(path, 'rb') as f:
        b = f.read()
    if b[:4] != b'II*\0':
        raise ValueError(f'{path}: not a little-endian classic TIFF')
    (ifd,) = struct.unpack_from('<I', b, 4)
    (n,) = struct.unpack_from('<H', b, ifd)
    sizes = {3: 2, 4: 4, 12: 8}
    tags = {}
    for i in range(n):
        tag, typ, count, value = struct.unpack_from('<HHII', b, ifd + 2 + 12 * i)
        if tag not in (34735, 34736) or typ not in sizes:
            continue
        off = ifd + 2 + 12 * i + 8 if sizes[typ] * count <= 4 else value
        fmt = {3: 'H', 4: 'I', 12: 'd'}[typ]
        tags[tag] = list(struct.unpack_from(f'<{count}{fmt}', b, off))
    directory, doubles = tags[34735], tags.get(34736, [])
    keys = {}
    for k in range(directory[3]):
        key, loc, count, idx = directory[4 + 4 * k: 8 + 4 * k]
        if key not in GEOKEY_NAMES:
            continue
        keys[GEOKEY_NAMES[key]] = idx if loc == 0 else doubles[idx] if loc == 34736 and count == 1 else None
    return keys


def user_defined(spec, out_dir):
    w, h = 16, 12
    path = os.path.join(out_dir, f"{spec['name']}.tif")
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, 'g.raw')
        with open(raw, 'wb') as f:
            f.write(bytes((x * 13 + y * 7) % 256 for y in range(h) for x in range(w)))
        with open(os.path.join(tmp, 'g.hdr'), 'w') as f:
            f.write(f'ENVI\nsamples = {w}\nlines = {h}\nbands = 1\nheader offset = 0\nfile type = ENVI Standard\n'
                    'data type = 1\ninterleave = bsq\nbyte order = 0\n')
        run(['gdal_translate', '-q', '-of', 'GTiff', '-co', 'COMPRESS=DEFLATE', '-a_srs', spec['proj4'],
             '-a_ullr', *map(str, spec['ullr']), raw, path])
    keys = geokeys(path)
    if keys.get('ProjectedCSTypeGeoKey') != 32767 or keys.get('ProjCoordTransGeoKey') != spec['coordTrans']:
        sys.exit(f"{spec['name']}: GDAL wrote ProjectedCSTypeGeoKey={keys.get('ProjectedCSTypeGeoKey')}, "
                 f"ProjCoordTransGeoKey={keys.get('ProjCoordTransGeoKey')}; expected a user-defined CRS (32767), CT {spec['coordTrans']}")
    info = json.loads(run(['gdalinfo', '-json', path]))
    names = ['upperLeft', 'upperRight', 'lowerRight', 'lowerLeft', 'center']
    pts = [[0, 0], [w, 0], [w, h], [0, h], [w / 2, h / 2]]
    lonlat = gdal_transform(path, pts)
    corners = {n: {'pixel': p, 'crs': info['cornerCoordinates'][n], 'lonlat': ll} for n, p, ll in zip(names, pts, lonlat)}
    return {'name': spec['name'], 'file': f"user-defined/{spec['name']}.tif", 'proj4': spec['proj4'], 'width': w, 'height': h,
            'geoKeys': keys, 'gdalProj4': info.get('coordinateSystem', {}).get('proj4') or run(['gdalsrsinfo', '-o', 'proj4', path]).strip(),
            'corners': corners}


def write_user_defined(version):
    out_dir = os.path.join(OUT, 'user-defined')
    os.makedirs(out_dir, exist_ok=True)
    entries = [user_defined(spec, out_dir) for spec in USER_DEFINED]
    with open(os.path.join(OUT, 'user-defined-crs.json'), 'w') as f:
        json.dump({'generator': f"tools/raster_fixtures.py (gdal_translate -a_srs '+proj=…' -a_ullr; gdalinfo; gdaltransform) with {version}",
                   'rasters': entries}, f, indent=1)
    return entries


def main():
    if '--user-defined' in sys.argv:
        entries = write_user_defined(run(['gdalinfo', '--version']).strip())
        print(f'{len(entries)} user-defined GeoTIFFs written')
        return
    if not os.path.isdir(DATA):
        sys.exit(f'{DATA} is missing: the fixtures are made from ../shared/data/geotiff')
    os.makedirs(OUT, exist_ok=True)
    version = run(['gdalinfo', '--version']).strip()
    described = [describe(rel) for rel in rasters()]
    with open(os.path.join(OUT, 'gdal-describe.json'), 'w') as f:
        json.dump({'generator': f'tools/raster_fixtures.py with {version}', 'rasters': described,
                   'synthetic': [synthetic(spec) for spec in SYNTHETIC]}, f, indent=1)
    with open(os.path.join(OUT, 'gdal-stats.json'), 'w') as f:
        json.dump({'generator': f'tools/raster_fixtures.py (gdal_translate -b N / -b mask,N, numpy) with {version}',
                   'stats': [statistics(e) for e in described]}, f, indent=1)
    with open(os.path.join(OUT, 'gdalwarp-tiles.json'), 'w') as f:
        json.dump({'generator': f'tools/raster_fixtures.py (gdalwarp -t_srs EPSG:3857 -r near -ovr NONE -dstalpha) with {version}',
                   'tiles': warp_tiles(described)}, f)
    chips = [chip(rel, win) for rel, wins in CHIP_WINDOWS.items() for win in wins]
    with open(os.path.join(OUT, 'gdal-chips.json'), 'w') as f:
        json.dump({'generator': f'tools/raster_fixtures.py (gdal_translate -srcwin) with {version}', 'chips': chips}, f)
    with open(os.path.join(ROOT, 'app', 'core', 'raster', 'georef', 'epsg-deprecated.json'), 'w') as f:
        json.dump(deprecated_codes(), f, indent=0)
    with open(os.path.join(ROOT, 'app', 'core', 'raster', 'georef', 'epsg-grid-fallback.json'), 'w') as f:
        json.dump({'source': 'PROJ proj.db (Debian proj-data): EPSG Helmert transformations to WGS 84 with areas of use',
                   'byGeographicCrs': grid_fallbacks()}, f, indent=0)
    write_user_defined(version)
    print(f'{len(described)} rasters described, {len(chips)} chips cut')


if __name__ == '__main__':
    main()
