import { useEffect, useRef } from "react";
import { NavLink, Outlet, useLocation } from "react-router-dom";
import { useSession } from "../auth/AuthContext";
import { screensFor } from "../auth/permissions";

/** The frame of every signed-in screen: who is signed in, the navigation, the screen. */
export function Layout() {
  const { who, signOut } = useSession();
  const { pathname } = useLocation();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  // After a navigation, focus goes to the new screen (as a page load would put it at the top),
  // so keyboard and screen-reader users do not stay behind in the menu.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [pathname]);

  const name = who.kind === "operator" ? "operator" : (who.tenant_name ?? who.tenant_id ?? "tenant");
  return (
    <div className="shell">
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Ragline console</span>
        <p className="who">
          Signed in as {name}
          {who.scopes.length > 0 && <span className="scopes"> (scopes: {who.scopes.join(", ")})</span>}
        </p>
        <button type="button" className="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <nav aria-label="Main" className="mainnav">
        <ul>
          {screensFor(who).map((screen) => (
            <li key={screen.path}>
              <NavLink to={screen.path}>{screen.label}</NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <main id="content" ref={main} className="content" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
