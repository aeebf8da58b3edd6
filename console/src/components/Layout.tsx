import { NavLink, Outlet } from "react-router-dom";
import { useSession } from "../auth/AuthContext";
import { screensFor } from "../auth/permissions";

/** The frame of every signed-in screen: who is signed in, the navigation, the screen. */
export function Layout() {
  const { who, signOut } = useSession();
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
      <main id="content" className="content" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
