import { useSession } from "../../auth/AuthContext";
import { KeysSection } from "./KeysSection";

/** A tenant admin key manages its own tenant's keys. */
export function KeysScreen() {
  const { who } = useSession();
  return (
    <>
      <h1>Keys</h1>
      {who.tenant_id && <KeysSection tenantId={who.tenant_id} />}
    </>
  );
}
