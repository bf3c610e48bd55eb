"""The account's custom menu (channels/wechat_menu.yaml): what each CLICK key says, and the
upload to WeChat. `python -m channels.wechat_menu` uploads it (menu/create)."""
from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

MENU_FILE = Path(__file__).resolve().parent / "wechat_menu.yaml"
TOP_BUTTONS, SUB_BUTTONS = 3, 5
TOP_NAME_BYTES, SUB_NAME_BYTES, KEY_BYTES = 16, 60, 128
KEYED_TYPES = {"click", "location_select", "scancode_push", "scancode_waitmsg", "pic_sysphoto",
               "pic_photo_or_album", "pic_weixin"}


class MenuError(ValueError):
    pass


@dataclass(frozen=True)
class Menu:
    definition: dict            # the menu/create body
    says: dict[str, str]        # CLICK key -> what the citizen is taken to have sent


def _check_button(button: dict, name_bytes: int, says: dict[str, str]) -> dict:
    name = str(button.get("name") or "")
    if not name or len(name.encode()) > name_bytes:
        raise MenuError(f"button name {name!r}: 1 to {name_bytes} bytes")
    out = {k: v for k, v in button.items() if k != "say"}
    kind = button.get("type")
    if kind in KEYED_TYPES:
        key = str(button.get("key") or "")
        if not key or len(key.encode()) > KEY_BYTES or key in says:
            raise MenuError(f"button {name}: key must be unique, 1 to {KEY_BYTES} bytes")
        if kind == "click":
            if not str(button.get("say") or "").strip():
                raise MenuError(f"click button {name}: needs `say`")
            says[key] = str(button["say"]).strip()
        else:
            says[key] = ""
    elif kind == "view":
        if not str(button.get("url") or "").startswith(("http://", "https://")):
            raise MenuError(f"view button {name}: needs an http(s) url")
    elif kind is not None:
        raise MenuError(f"button {name}: unsupported type {kind}")
    return out


def load(path: Path = MENU_FILE) -> Menu:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tops = raw.get("button") or []
    if not 1 <= len(tops) <= TOP_BUTTONS:
        raise MenuError(f"1 to {TOP_BUTTONS} top-level buttons")
    says: dict[str, str] = {}
    definition = {"button": []}
    for top in tops:
        subs = top.get("sub_button")
        if subs is None:
            definition["button"].append(_check_button(top, TOP_NAME_BYTES, says))
            continue
        if not 1 <= len(subs) <= SUB_BUTTONS or top.get("type"):
            raise MenuError(f"menu {top.get('name')}: 1 to {SUB_BUTTONS} sub-buttons and no type of its own")
        checked = _check_button({"name": top.get("name")}, TOP_NAME_BYTES, says)
        checked["sub_button"] = [_check_button(s, SUB_NAME_BYTES, says) for s in subs]
        definition["button"].append(checked)
    return Menu(definition=definition, says={k: v for k, v in says.items() if v})


async def upload(menu: Menu) -> None:
    from channels.wechat import WeChatSettings
    from channels.wechat_api import WeChatApi

    cfg = WeChatSettings()
    api = WeChatApi(cfg.api_base, cfg.appid, cfg.appsecret)
    try:
        await api.create_menu(menu.definition)
    finally:
        await api.close()


def main() -> int:
    from channels.wechat_api import WeChatApiError

    try:
        menu = load(Path(sys.argv[1]) if len(sys.argv) > 1 else MENU_FILE)
        asyncio.run(upload(menu))
    except (MenuError, WeChatApiError) as exc:
        print(f"menu not uploaded: {exc}", file=sys.stderr)
        return 1
    print(f"menu uploaded: {len(menu.definition['button'])} menus, {len(menu.says)} click keys")
    return 0


if __name__ == "__main__":
    sys.exit(main())
