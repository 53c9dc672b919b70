//! The image config's `User` (`name`, `uid`, `uid:gid`, `name:group`, …) resolved against the
//! image's own `/etc/passwd` and `/etc/group`, the way docker (runc) does: a name must exist; a
//! numeric uid need not (then gid 0 and home `/`); supplementary groups are the groups that
//! list the user's name.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: String,
}

impl User {
    pub fn root() -> User {
        User {
            uid: 0,
            gid: 0,
            groups: Vec::new(),
            home: "/root".into(),
        }
    }
}

struct Passwd<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

fn passwd_entries(passwd: &str) -> impl Iterator<Item = Passwd<'_>> {
    passwd.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 7 || line.starts_with('#') {
            return None;
        }
        Some(Passwd {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f[5],
        })
    })
}

/// (name, gid, members) of each group line.
fn group_entries(group: &str) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
    group.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 || line.starts_with('#') {
            return None;
        }
        let members = f[3].split(',').filter(|m| !m.is_empty()).collect();
        Some((f[0], f[2].parse().ok()?, members))
    })
}

/// Resolves `spec` (empty means root) against the image's passwd and group files.
pub fn resolve(spec: &str, passwd: &str, group: &str) -> Result<User, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Ok(passwd_entries(passwd)
            .find(|p| p.uid == 0)
            .map(|p| User {
                home: p.home.to_string(),
                ..User::root()
            })
            .unwrap_or_else(User::root));
    }
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let entry = match user_part.parse::<u32>() {
        Ok(uid) => passwd_entries(passwd).find(|p| p.uid == uid),
        Err(_) => Some(
            passwd_entries(passwd)
                .find(|p| p.name == user_part)
                .ok_or_else(|| format!("user {user_part:?} is not in the image's /etc/passwd"))?,
        ),
    };
    let uid = match &entry {
        Some(p) => p.uid,
        None => user_part.parse::<u32>().map_err(|e| e.to_string())?,
    };
    let gid = match group_part {
        None => entry.as_ref().map_or(0, |p| p.gid),
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => group_entries(group)
                .find(|(name, _, _)| *name == g)
                .map(|(_, gid, _)| gid)
                .ok_or_else(|| format!("group {g:?} is not in the image's /etc/group"))?,
        },
    };
    // An explicit group replaces the supplementary ones too, as with docker.
    let groups = match (&entry, group_part) {
        (Some(p), None) => {
            let mut gids: Vec<u32> = group_entries(group)
                .filter(|(_, _, members)| members.contains(&p.name))
                .map(|(_, gid, _)| gid)
                .filter(|&g| g != gid)
                .collect();
            gids.sort_unstable();
            gids.dedup();
            gids
        }
        _ => Vec::new(),
    };
    Ok(User {
        uid,
        gid,
        groups,
        home: entry.map_or("/", |p| p.home).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        app:x:1000:1001:App:/home/app:/bin/sh\n\
        broken line\n";
    const GROUP: &str = "root:x:0:\nappgrp:x:1001:\nstaff:x:50:app,other\nwheel:x:10:other\n";

    fn user(uid: u32, gid: u32, groups: &[u32], home: &str) -> User {
        User {
            uid,
            gid,
            groups: groups.to_vec(),
            home: home.into(),
        }
    }

    #[test]
    fn user_forms_resolve_like_docker() {
        let cases: &[(&str, Result<User, &str>)] = &[
            ("", Ok(user(0, 0, &[], "/root"))),
            ("root", Ok(user(0, 0, &[], "/root"))),
            ("app", Ok(user(1000, 1001, &[50], "/home/app"))),
            ("1000", Ok(user(1000, 1001, &[50], "/home/app"))),
            ("4242", Ok(user(4242, 0, &[], "/"))),
            ("4242:77", Ok(user(4242, 77, &[], "/"))),
            ("app:staff", Ok(user(1000, 50, &[], "/home/app"))),
            ("app:10", Ok(user(1000, 10, &[], "/home/app"))),
            ("1000:appgrp", Ok(user(1000, 1001, &[], "/home/app"))),
            (
                "nobody",
                Err("user \"nobody\" is not in the image's /etc/passwd"),
            ),
            (
                "app:nogroup",
                Err("group \"nogroup\" is not in the image's /etc/group"),
            ),
        ];
        for (spec, want) in cases {
            let got = resolve(spec, PASSWD, GROUP);
            assert_eq!(got, want.clone().map_err(String::from), "User {spec:?}");
        }
    }

    #[test]
    fn no_passwd_file_still_allows_numeric_users() {
        assert_eq!(resolve("", "", ""), Ok(User::root()));
        assert_eq!(resolve("12:34", "", ""), Ok(user(12, 34, &[], "/")));
        assert!(resolve("app", "", "").is_err());
    }
}
